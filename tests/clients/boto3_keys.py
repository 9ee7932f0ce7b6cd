"""Tries to write objects whose keys climb out of a folder, through boto3 (which sends keys as
given), to the agent's built-in S3 server.

    python3 boto3_keys.py ENDPOINT ACCESS SECRET BUCKET

Each write (put, multipart, copy) must be refused with 400 InvalidArgument and leave no
object; a key that merely holds dots is taken.
Exits 0 when all hold; prints what failed otherwise.
"""

import sys

from s3client import client
from botocore.exceptions import ClientError

endpoint, access, secret, bucket = sys.argv[1:5]
s3 = client(endpoint, access, secret)
s3.put_object(Bucket=bucket, Key="source.txt", Body=b"copied from")
writes = {
    "PutObject": lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"),
    "CreateMultipartUpload": lambda key: s3.create_multipart_upload(Bucket=bucket, Key=key),
    "CopyObject": lambda key: s3.copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": "source.txt"}
    ),
}
for key in ["../escape.txt", "a/../../escape.txt", "a/./b.txt", "..", ".", "a/\x00b.txt",
            "a\\..\\..\\escape.txt"]:
    for name, write in writes.items():
        try:
            write(key)
            sys.exit(f"{name} {key!r} was taken")
        except ClientError as e:
            # InvalidArgument, not just any 4xx: the server read the key as sent and refused it
            # for what it holds, not for a route or signature it could not make sense of.
            error = (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])
            assert error == (400, "InvalidArgument"), (name, key, e.response)
listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
assert [o["Key"] for o in listed] == ["source.txt"], listed
s3.put_object(Bucket=bucket, Key="a/..b/c...txt", Body=b"dots are fine")
assert s3.get_object(Bucket=bucket, Key="a/..b/c...txt")["Body"].read() == b"dots are fine"
print("ok")
