"""AWS adapters. The only package that imports boto3."""
