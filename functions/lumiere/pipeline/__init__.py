"""What happens to an asset: upload, ingest, transcode, publish. Adapters are passed in."""
