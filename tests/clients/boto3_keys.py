"""Tries to write objects whose keys climb out of a folder, through boto3 (which sends keys as
given), to the agent's built-in S3 server.

    python3 boto3_keys.py ENDPOINT ACCESS SECRET BUCKET

Each must be refused with a 4xx and leave no object; a key that merely holds dots is taken.
Exits 0 when all hold; prints what failed otherwise.
"""

import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, access, secret, bucket = sys.argv[1:5]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=access,
    aws_secret_access_key=secret,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
for key in ["../escape.txt", "a/../../escape.txt", "a/./b.txt", "..", "a/\x00b.txt"]:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        sys.exit(f"{key!r} was taken")
    except ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert 400 <= status < 500, (key, e.response)
    try:
        s3.create_multipart_upload(Bucket=bucket, Key=key)
        sys.exit(f"{key!r} began a multipart upload")
    except ClientError as e:
        assert 400 <= e.response["ResponseMetadata"]["HTTPStatusCode"] < 500, (key, e.response)
listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
assert not [o for o in listed if "escape" in o["Key"] or o["Key"].endswith("b.txt")], listed
s3.put_object(Bucket=bucket, Key="a/..b/c...txt", Body=b"dots are fine")
assert s3.get_object(Bucket=bucket, Key="a/..b/c...txt")["Body"].read() == b"dots are fine"
print("ok")
