"""Drives the agent's built-in S3 server with boto3, as an independent client would.

    python3 boto3_storage.py ENDPOINT ACCESS SECRET BUCKET READ_ONLY_ACCESS READ_ONLY_SECRET

Exercises put, get (whole and ranged), head, list (v2, with delimiter and pages), multipart
(boto3's own transfer manager), copy, presigned GET, delete; then checks that a read-only key
reads but may not write, and that a wrong secret is refused. Exits 0 when all hold; prints
what failed otherwise.
"""

import sys
import urllib.error
import urllib.request

from s3client import client
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

endpoint, access, secret, bucket, ro_access, ro_secret = sys.argv[1:7]


s3 = client(endpoint, access, secret)
body = bytes(range(256)) * 4096  # 1 MiB
s3.put_object(Bucket=bucket, Key="boto/one.bin", Body=body, ContentType="application/x-test")
got = s3.get_object(Bucket=bucket, Key="boto/one.bin")
assert got["Body"].read() == body, "get"
assert got["ContentType"] == "application/x-test", got["ContentType"]
part = s3.get_object(Bucket=bucket, Key="boto/one.bin", Range="bytes=1000-1999")["Body"].read()
assert part == body[1000:2000], "range"
head = s3.head_object(Bucket=bucket, Key="boto/one.bin")
assert head["ContentLength"] == len(body), head

# Multipart through boto3's transfer manager: 8 MiB parts of a 20 MiB object.
big = bytes(range(251)) * (20 * 1024 * 1024 // 251)
cfg = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
import io

s3.upload_fileobj(io.BytesIO(big), bucket, "boto/big.bin", Config=cfg)
out = io.BytesIO()
s3.download_fileobj(bucket, "boto/big.bin", out, Config=cfg)
assert out.getvalue() == big, "multipart round trip"
etag = s3.head_object(Bucket=bucket, Key="boto/big.bin")["ETag"]
assert etag.endswith('-3"'), etag

s3.copy_object(Bucket=bucket, Key="boto/copy.bin", CopySource={"Bucket": bucket, "Key": "boto/one.bin"})
assert s3.get_object(Bucket=bucket, Key="boto/copy.bin")["Body"].read() == body, "copy"

for i in range(5):
    s3.put_object(Bucket=bucket, Key=f"boto/many/{i}.txt", Body=b"x")
top = s3.list_objects_v2(Bucket=bucket, Prefix="boto/", Delimiter="/")
keys = [o["Key"] for o in top.get("Contents", [])]
prefixes = [p["Prefix"] for p in top.get("CommonPrefixes", [])]
assert keys == ["boto/big.bin", "boto/copy.bin", "boto/one.bin"], keys
assert prefixes == ["boto/many/"], prefixes
seen, token = [], None
while True:
    args = {"Bucket": bucket, "Prefix": "boto/many/", "MaxKeys": 2}
    if token:
        args["ContinuationToken"] = token
    page = s3.list_objects_v2(**args)
    seen += [o["Key"] for o in page.get("Contents", [])]
    if not page.get("IsTruncated"):
        break
    token = page["NextContinuationToken"]
assert seen == [f"boto/many/{i}.txt" for i in range(5)], seen

url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "boto/one.bin"}, ExpiresIn=300)
assert urllib.request.urlopen(url).read() == body, "presigned GET"

s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"boto/many/{i}.txt"} for i in range(5)]})
s3.delete_object(Bucket=bucket, Key="boto/copy.bin")
left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="boto/").get("Contents", [])]
assert left == ["boto/big.bin", "boto/one.bin"], left

# A read-only key reads and may not write; a wrong secret gets nothing.
ro = client(endpoint, ro_access, ro_secret)
assert ro.get_object(Bucket=bucket, Key="boto/one.bin")["Body"].read() == body
for attempt in (
    lambda: ro.put_object(Bucket=bucket, Key="boto/no.bin", Body=b"no"),
    lambda: ro.delete_object(Bucket=bucket, Key="boto/one.bin"),
    lambda: client(endpoint, access, "wrong" + secret[5:]).list_objects_v2(Bucket=bucket),
):
    try:
        attempt()
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response
    else:
        raise AssertionError("let through")
print("boto3: all checks passed")
