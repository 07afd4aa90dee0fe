"""template.yaml as a security reviewer reads it: checkov and cfn-lint with zero failures
(every skipped check carries its reason next to the resource), the media CDN in front of
a private bucket with signed access only, the API behind Cognito, IAM that names its
resources, and alarms on the dead-letter queues."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from tests.integration.test_template import BIN, REPO, TEMPLATE, CfnLoader, resources_of

# checkov pins old boto3/networkx/packaging, so it lives in its own virtualenv
# (scripts/bootstrap, tools/checkov-requirements.txt).
CHECKOV = REPO / ".venv" / "checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506


def test_checkov_passes_with_every_skip_justified(template: dict[str, Any]) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make bootstrap`")
    done = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE), "--framework", "cloudformation", "-o", "json",
         "--quiet"],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=300,
    )  # fmt: skip
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, "\n".join(failed)
    assert summary["passed"] > 30  # it did check the template
    for name, resource in template["Resources"].items():
        for skipped in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
            assert len(str(skipped.get("comment", ""))) > 40, f"{name}: {skipped['id']}"


def test_cfn_lint_passes_on_the_whole_template() -> None:
    done = subprocess.run(
        [str(BIN / "cfn-lint"), "--", str(TEMPLATE)],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_api_needs_a_cognito_token_on_every_route_but_public_images(
    template: dict[str, Any],
) -> None:
    auth = template["Globals"]["Api"]["Auth"]
    assert auth["DefaultAuthorizer"] == "CognitoAuthorizer"
    assert auth["Authorizers"]["CognitoAuthorizer"]["UserPoolArn"] == {
        "Fn::GetAtt": ["UserPool", "Arn"]
    }
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False
    opted_out = {}
    for event in template["Resources"]["ApiFunction"]["Properties"]["Events"].values():
        if "Auth" in event["Properties"]:
            opted_out[event["Properties"]["Path"]] = event["Properties"]["Auth"]
    # only signed links to public assets' pictures (the route checks both)
    assert opted_out == {"/public/img/{asset_id}/{options}": {"Authorizer": "NONE"}}
    [throttle] = template["Globals"]["Api"]["MethodSettings"]
    assert (throttle["ResourcePath"], throttle["HttpMethod"]) == ("/*", "*")
    assert 0 < throttle["ThrottlingRateLimit"] <= throttle["ThrottlingBurstLimit"]
    client = template["Resources"]["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]  # SRP only


def test_media_is_private_behind_the_distribution(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    config = resources["MediaDistribution"]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["MediaOriginAccessControl", "Id"]}
    assert origin["DomainName"] == {"Fn::GetAtt": ["MediaBucket", "RegionalDomainName"]}
    oac = resources["MediaOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["OriginAccessControlOriginType"]) == ("always", "s3")
    assert config["HttpVersion"] == "http2and3"
    # the bucket: no public access, and only this distribution may read, only assets/
    statements = resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "AllowMediaDistributionReadAssets",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${MediaBucket}/assets/*"},
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}"
                        ":distribution/${MediaDistribution}"
                    }
                }
            },
        }
    ]
    assert "CorsConfiguration" not in resources["MediaBucket"]["Properties"]
    # the API links to the distribution
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["MEDIA_BASE_URL"] == {"Fn::Sub": "https://${MediaDistribution.DomainName}"}


def behaviours(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    config = template["Resources"]["MediaDistribution"]["Properties"]["DistributionConfig"]
    found = {"default": config["DefaultCacheBehavior"]}
    found.update({b["PathPattern"]: b for b in config["CacheBehaviors"]})
    return found


PUBLIC_FUNCTION = [
    {
        "EventType": "viewer-request",
        "FunctionARN": {"Fn::GetAtt": ["PublicAssetsFunction", "FunctionARN"]},
    }
]


def test_every_behaviour_needs_a_signature_over_https(template: dict[str, Any]) -> None:
    """Every path needs a signature, but /public/, whose every request goes through the
    Function that serves only assets listed as public."""
    for pattern, behaviour in behaviours(template).items():
        if pattern.startswith("public/"):
            assert "TrustedKeyGroups" not in behaviour, pattern
            assert behaviour["FunctionAssociations"] == PUBLIC_FUNCTION, pattern
            headers = "PublicMediaResponseHeadersPolicy"
        else:
            assert behaviour["TrustedKeyGroups"] == [{"Ref": "PlaybackKeyGroup"}], pattern
            assert "FunctionAssociations" not in behaviour, pattern
            headers = "MediaResponseHeadersPolicy"
        assert behaviour["ViewerProtocolPolicy"] == "https-only", pattern
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": headers}, pattern
    group = template["Resources"]["PlaybackKeyGroup"]["Properties"]["KeyGroupConfig"]
    assert group["Items"] == [{"Ref": "PlaybackKey"}]
    key = template["Resources"]["PlaybackKey"]["Properties"]["PublicKeyConfig"]
    assert key["EncodedKey"] == {"Ref": "PlaybackPublicKey"}  # a parameter, not in the file


def test_public_behaviours_come_first_and_mirror_the_signed_ones(
    template: dict[str, Any],
) -> None:
    """CloudFront takes the first matching pattern: a signed "*.m3u8" listed before
    "public/*.m3u8" would demand a signature for public playlists."""
    config = template["Resources"]["MediaDistribution"]["Properties"]["DistributionConfig"]
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]]
    public = [p for p in patterns if p.startswith("public/")]
    assert patterns[: len(public)] == public
    assert public[-1] == "public/*"  # the catch-all of the public path comes last of them
    found = behaviours(template)
    for pattern in patterns[len(public) :]:  # each signed pattern has its public twin
        assert found[f"public/{pattern}"]["CachePolicyId"] == found[pattern]["CachePolicyId"]
    assert found["public/*"]["CachePolicyId"] == found["default"]["CachePolicyId"]


def test_the_public_function_reads_the_store_the_api_writes(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    function = resources["PublicAssetsFunction"]["Properties"]
    assert function["AutoPublish"] is True
    config = function["FunctionConfig"]
    assert config["Runtime"] == "cloudfront-js-2.0"
    assert config["KeyValueStoreAssociations"] == [
        {"KeyValueStoreARN": {"Fn::GetAtt": ["PublicAssetsStore", "Arn"]}}
    ]
    code = function["FunctionCode"]
    assert "const store = cf.kvs();" in code  # the associated store
    assert "statusCode: 404" in code
    api = resources["ApiFunction"]["Properties"]
    variables = api["Environment"]["Variables"]
    assert variables["PUBLIC_ASSETS_KVS_ARN"] == {"Fn::GetAtt": ["PublicAssetsStore", "Arn"]}
    assert variables["MEDIA_DISTRIBUTION_ID"] == {"Ref": "MediaDistribution"}
    # least privilege: the three calls it makes, on that store; invalidations of that
    # distribution only; nobody else may touch either
    granted = {
        action: statement["Resource"]
        for statement in statements(resources["ApiFunction"])
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("cloudfront")
    }
    store = {"Fn::GetAtt": ["PublicAssetsStore", "Arn"]}
    assert granted == {
        "cloudfront-keyvaluestore:DescribeKeyValueStore": store,
        "cloudfront-keyvaluestore:PutKey": store,
        "cloudfront-keyvaluestore:DeleteKey": store,
        "cloudfront:CreateInvalidation": {
            "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}"
            ":distribution/${MediaDistribution}"
        },
    }
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        if name != "ApiFunction":
            assert "cloudfront" not in json.dumps(statements(fn)), name


def test_hls_keys_are_wrapped_by_a_rotating_kms_key_only_two_functions_use(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    key = resources["ContentKeysKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    alias = resources["ContentKeysAlias"]["Properties"]
    assert alias["TargetKeyId"] == {"Ref": "ContentKeysKey"}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["CONTENT_KEY_ID"] == {"Ref": "ContentKeysAlias"}
    granted = {}
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        for statement in statements(fn):
            actions = statement["Action"]
            for action in actions if isinstance(actions, list) else [actions]:
                if action.startswith("kms:"):
                    assert statement["Resource"] == {"Fn::GetAtt": ["ContentKeysKey", "Arn"]}
                    granted.setdefault(name, set()).add(action)
    # the API makes keys and hands them to viewers; the encoder unwraps them; nobody else
    assert granted == {
        "ApiFunction": {"kms:GenerateDataKey", "kms:Decrypt"},
        "TranscodeFunction": {"kms:Decrypt"},
    }
    # the key reaches players as bytes (not */*: SAM's CORS preflights would fail)
    assert template["Globals"]["Api"]["BinaryMediaTypes"] == ["application~1octet-stream"]


def ttl(template: dict[str, Any], policy: dict[str, Any]) -> tuple[int, int]:
    config = template["Resources"][policy["Ref"]]["Properties"]["CachePolicyConfig"]
    return int(config["DefaultTTL"]), int(config["MaxTTL"])


def test_segments_cache_long_and_manifests_short(template: dict[str, Any]) -> None:
    found = behaviours(template)
    assert ttl(template, found["default"]["CachePolicyId"]) == (31536000, 31536000)
    assert ttl(template, found["public/*"]["CachePolicyId"]) == (31536000, 31536000)
    for pattern in ("*.m3u8", "*.mpd", "*.vtt", "*.json", *(f"public/*.{e}" for e in (
        "m3u8", "mpd", "vtt", "json"
    ))):  # fmt: skip
        default, maximum = ttl(template, found[pattern]["CachePolicyId"])
        assert default <= 60, pattern
        assert maximum <= 300, pattern
    # the signing parameters (query, cookies) never split the cache per viewer
    for behaviour in found.values():
        name = behaviour["CachePolicyId"]["Ref"]
        keys = template["Resources"][name]["Properties"]["CachePolicyConfig"][
            "ParametersInCacheKeyAndForwardedToOrigin"
        ]
        assert keys["QueryStringsConfig"]["QueryStringBehavior"] == "none"
        assert keys["CookiesConfig"]["CookieBehavior"] == "none"


def test_response_headers_allow_players_and_harden(template: dict[str, Any]) -> None:
    config = template["Resources"]["MediaResponseHeadersPolicy"]["Properties"][
        "ResponseHeadersPolicyConfig"
    ]
    cors = config["CorsConfig"]
    assert cors["AccessControlAllowCredentials"] is True  # signed cookies cross-origin
    assert cors["AccessControlAllowOrigins"]["Items"] == {"Ref": "PlayerOrigins"}  # not *
    assert "Range" in cors["AccessControlAllowHeaders"]["Items"]
    security = config["SecurityHeadersConfig"]
    # the public path: any web page may play it, never with credentials, same hardening
    public = template["Resources"]["PublicMediaResponseHeadersPolicy"]["Properties"][
        "ResponseHeadersPolicyConfig"
    ]
    assert public["CorsConfig"]["AccessControlAllowOrigins"]["Items"] == ["*"]
    assert public["CorsConfig"]["AccessControlAllowCredentials"] is False
    assert public["SecurityHeadersConfig"] == security
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert "default-src 'none'" in security["ContentSecurityPolicy"]["ContentSecurityPolicy"]


def statements(fn: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in fn["Properties"]["Policies"]:
        found += policy.get("Statement", [])
    return found


# Actions the Service Authorization Reference lists with no resource type: IAM accepts
# only "*" for them, so a statement of these (and nothing else) may say so.
NO_RESOURCE_TYPES = frozenset({"rekognition:DetectFaces", "rekognition:DetectModerationLabels"})


def test_functions_name_their_resources(template: dict[str, Any]) -> None:
    """No wildcard actions, no `*` resources (but for actions that have no resource
    types), no SAM CRUD templates on tables or buckets: each function's statements name
    its own tables, buckets and prefixes."""
    for name, fn in resources_of(template, "AWS::Serverless::Function").items():
        for policy in fn["Properties"]["Policies"]:
            assert not {"DynamoDBCrudPolicy", "S3CrudPolicy", "S3ReadPolicy"} & set(policy), name
        for statement in statements(fn):
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert all("*" not in a for a in actions), (name, actions)
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                assert resource != "*" or set(actions) <= NO_RESOURCE_TYPES, (name, actions)
                text = json.dumps(resource)
                if "s3:::" in text and text.endswith('/*"}'):
                    # object ARNs are limited to the prefix the function works in
                    assert "/uploads/*" in text or "/assets/*" in text, (name, text)


def test_dead_letter_queues_raise_alarms(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    queues = resources_of(template, "AWS::SQS::Queue")
    dlqs = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for q in queues.values() if "RedrivePolicy" in q["Properties"]}  # fmt: skip
    assert dlqs
    assert dlqs <= watched
    for alarm in alarms:
        assert alarm["Properties"]["Threshold"] == 0
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_uploads_lifecycle_aborts_parts_and_can_archive(template: dict[str, Any]) -> None:
    rules = {
        r["Id"]: r
        for r in template["Resources"]["UploadsBucket"]["Properties"]["LifecycleConfiguration"][
            "Rules"
        ]
    }
    assert rules["abort-incomplete-multipart"]["Status"] == "Enabled"
    assert rules["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    archive = rules["archive-originals"]
    assert archive["Status"] == {"Fn::If": ["ArchiveOriginals", "Enabled", "Disabled"]}
    # Instant Retrieval: an archived original can still be read to transcode again
    assert archive["Transitions"][0]["StorageClass"] == "GLACIER_IR"
    assert template["Parameters"]["ArchiveOriginalsAfterDays"]["Default"] == 0


def test_buckets_log_access(template: dict[str, Any]) -> None:
    for name in ("UploadsBucket", "MediaBucket", "SiteBucket"):
        logging = template["Resources"][name]["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}


# ---------------------------------------------------------------- the web app's delivery


def test_site_has_its_own_distribution_with_oac_and_no_signatures(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not a legacy OAI
    oac = resources["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["OriginAccessControlOriginType"]) == ("always", "s3")
    # the page is public: no behaviour of the site asks for a playback signature
    site_behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    for behaviour in site_behaviours:
        assert "TrustedKeyGroups" not in behaviour
        assert "TrustedSigners" not in behaviour
        assert behaviour["ViewerProtocolPolicy"] in {"https-only", "redirect-to-https"}
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteResponseHeadersPolicy"}
    assert config["DefaultRootObject"] == "index.html"
    # SPA-friendly: paths that are no file get the page (S3 says 403 without ListBucket)
    errors = {e["ErrorCode"]: e for e in config["CustomErrorResponses"]}
    for code in (403, 404):
        assert (errors[code]["ResponseCode"], errors[code]["ResponsePagePath"]) == (
            200,
            "/index.html",
        )
    # ... while media keeps a signature on every behaviour and never serves the site
    media = resources["MediaDistribution"]["Properties"]["DistributionConfig"]
    assert [o["Id"] for o in media["Origins"]] == ["media"]
    assert "CustomErrorResponses" not in media
    for pattern, behaviour in behaviours(template).items():
        if pattern.startswith("public/"):  # unsigned only where the store lists the asset
            [check] = behaviour["FunctionAssociations"]
            assert check["FunctionARN"] == {"Fn::GetAtt": ["PublicAssetsFunction", "FunctionARN"]}
            assert "TrustedKeyGroups" not in behaviour
        else:
            assert behaviour["TrustedKeyGroups"] == [{"Ref": "PlaybackKeyGroup"}], pattern


def test_only_the_site_distribution_reads_site_bucket_over_tls(template: dict[str, Any]) -> None:
    statements = template["Resources"]["SiteBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"  # no ListBucket: a missing page is a 403
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}"
        ":distribution/${SiteDistribution}"
    }
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}


def test_site_csp_allows_the_api_the_media_and_blob_for_mse(template: dict[str, Any]) -> None:
    config = template["Resources"]["SiteResponseHeadersPolicy"]["Properties"][
        "ResponseHeadersPolicyConfig"
    ]["SecurityHeadersConfig"]
    csp = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    directives = {
        d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d
    }
    api = "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    media = "https://${MediaDistribution.DomainName}"
    sign_in = "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval
    uploads = "https://${UploadsBucket}.s3.${AWS::Region}.${AWS::URLSuffix}"
    assert {api, media, sign_in, uploads} <= set(directives["connect-src"])
    assert {"blob:", media} <= set(directives["media-src"])  # MSE plays from blob: URLs
    assert "blob:" in directives["worker-src"]  # hls.js's worker
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert config["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert config["FrameOptions"]["FrameOption"] == "DENY"


def test_web_app_client_signs_in_with_the_code_flow_back_to_the_site(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    client = resources["WebAppClient"]["Properties"]
    assert client["UserPoolId"] == {"Ref": "UserPool"}
    assert client["GenerateSecret"] is False  # public: PKCE stands in for the secret
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]  # no implicit grant
    assert sorted(client["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    site_url = template["Outputs"]["SiteUrl"]["Value"]
    assert site_url == {"Fn::Sub": "https://${SiteDistribution.DomainName}/"}
    assert client["CallbackURLs"] == [site_url]
    assert client["LogoutURLs"] == [site_url]
    domain = resources["UserPoolDomain"]["Properties"]
    assert domain["UserPoolId"] == {"Ref": "UserPool"}
    branding = resources["WebAppBranding"]["Properties"]
    assert branding["ClientId"] == {"Ref": "WebAppClient"}  # managed login v2 needs a style
    for output in ("SiteBucketName", "ApiUrl", "MediaUrl", "SignInDomainUrl", "WebAppClientId"):
        assert output in template["Outputs"]  # what publish-site reads
