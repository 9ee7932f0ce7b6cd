"""Sends objects and parts with S3's flexible checksums (x-amz-checksum-*), as boto3 computes
them, to the agent's built-in S3 server; then checksums that do not match the bytes.

    python3 boto3_checksums.py ENDPOINT ACCESS SECRET BUCKET

Each algorithm's matching checksum is taken; a wrong one is refused with BadDigest and leaves
nothing. Exits 0 when all hold; prints what failed otherwise.
"""

import base64
import hashlib
import sys

from s3client import client
from botocore.exceptions import ClientError

endpoint, access, secret, bucket = sys.argv[1:5]
s3 = client(endpoint, access, secret)
body = bytes(range(256)) * 64

def crc32c(data):
    """CRC-32C (Castagnoli), computed here: boto3 needs awscrt for it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


for algorithm in ["CRC32", "SHA1", "SHA256"]:
    key = f"sums/{algorithm}.bin"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm=algorithm)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, algorithm
s3.put_object(Bucket=bucket, Key="sums/CRC32C.bin", Body=body, ChecksumCRC32C=crc32c(body))

# A multipart upload whose parts carry their SHA-256.
up = s3.create_multipart_upload(Bucket=bucket, Key="sums/parts.bin", ChecksumAlgorithm="SHA256")
part = bytes(range(251)) * (5 * 1024 * 1024 // 251 + 1)
etags = []
for n in (1, 2):
    r = s3.upload_part(Bucket=bucket, Key="sums/parts.bin", UploadId=up["UploadId"], PartNumber=n,
                       Body=part, ChecksumAlgorithm="SHA256")
    etags.append({"PartNumber": n, "ETag": r["ETag"]})
s3.complete_multipart_upload(Bucket=bucket, Key="sums/parts.bin", UploadId=up["UploadId"],
                             MultipartUpload={"Parts": etags})

# Checksums of other bytes: refused, nothing kept.
wrong_sha256 = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
for key, extra in [("sums/wrong-sha256.bin", {"ChecksumSHA256": wrong_sha256}),
                   ("sums/wrong-crc32c.bin", {"ChecksumCRC32C": "AAAAAA=="})]:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        sys.exit(f"{key}: a wrong checksum was taken")
    except ClientError as e:
        code = e.response["Error"]["Code"]
        assert code in ("BadDigest", "XAmzContentChecksumMismatch", "InvalidRequest"), code
    try:
        s3.head_object(Bucket=bucket, Key=key)
        sys.exit(f"{key}: kept after a wrong checksum")
    except ClientError as e:
        assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e.response
up = s3.create_multipart_upload(Bucket=bucket, Key="sums/wrong-part.bin")
try:
    s3.upload_part(Bucket=bucket, Key="sums/wrong-part.bin", UploadId=up["UploadId"], PartNumber=1,
                   Body=part, ChecksumSHA256=wrong_sha256)
    sys.exit("a part with a wrong checksum was taken")
except ClientError as e:
    assert e.response["Error"]["Code"] in ("BadDigest", "XAmzContentChecksumMismatch", "InvalidRequest"), e.response
print("ok")
