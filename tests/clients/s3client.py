"""The boto3 client every script here uses: the agent's built-in S3 server, path-style, one
attempt per call (a refusal must show, not be retried away)."""

import boto3
from botocore.config import Config


def client(endpoint, access, secret):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
