"""Sets, reads or deletes a bucket's CORS rules on the agent's built-in S3 server with boto3.

    python3 boto3_cors.py ENDPOINT ACCESS SECRET BUCKET put|get|delete

`put` sets one rule (origin https://app.example.com, GET and PUT, headers content-type and
x-amz-*, ETag exposed, max age 600); `get` prints the rules as JSON; `delete` removes them.
"""

import json
import sys

from s3client import client

endpoint, access, secret, bucket, action = sys.argv[1:6]
s3 = client(endpoint, access, secret)
if action == "put":
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["https://app.example.com"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["content-type", "x-amz-*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 600,
    }]})
elif action == "get":
    print(json.dumps(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]))
else:
    s3.delete_bucket_cors(Bucket=bucket)
