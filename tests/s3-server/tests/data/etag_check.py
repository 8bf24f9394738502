"""Checks the S3 test server's ETags and GET conditions with boto3, an independent client.

Usage: etag_check.py ENDPOINT ACCESS_KEY SECRET_KEY REGION BUCKET
Exits non-zero with the failed check on stderr; prints "ok" when every check holds.
"""
import hashlib
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, access_key, secret_key, region, bucket = sys.argv[1:6]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=access_key,
    aws_secret_access_key=secret_key,
    region_name=region,
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)


def same(what, got, want):
    if got != want:
        sys.exit(f"{what}: got {got!r}, want {want!r}")


def status_of(call):
    try:
        call()
    except ClientError as err:
        return int(err.response["ResponseMetadata"]["HTTPStatusCode"])
    return 200


def listed_etag(key):
    for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        if entry["Key"] == key:
            return entry.get("ETag")
    sys.exit(f"{key} not listed")


# A single PUT: the ETag is the quoted MD5 of the bytes, on PUT, GET, HEAD and list.
body = bytes(range(256)) * 40
put = s3.put_object(Bucket=bucket, Key="single/obj", Body=body)
md5 = '"' + hashlib.md5(body).hexdigest() + '"'
same("PUT ETag", put["ETag"], md5)
got = s3.get_object(Bucket=bucket, Key="single/obj")
same("GET body", got["Body"].read(), body)
same("GET ETag", got.get("ETag"), md5)
same("HEAD ETag", s3.head_object(Bucket=bucket, Key="single/obj")["ETag"], md5)
same("list ETag", listed_etag("single/obj"), md5)
same("ranged GET ETag", s3.get_object(Bucket=bucket, Key="single/obj", Range="bytes=10-19").get("ETag"), md5)

# A multipart upload: MD5 of the parts' MD5s, "-N".
parts = [b"a" * (5 << 20), b"b" * 1000]
up = s3.create_multipart_upload(Bucket=bucket, Key="multi/obj")
done = []
for n, part in enumerate(parts, start=1):
    r = s3.upload_part(Bucket=bucket, Key="multi/obj", UploadId=up["UploadId"], PartNumber=n, Body=part)
    done.append({"ETag": r["ETag"], "PartNumber": n})
fin = s3.complete_multipart_upload(
    Bucket=bucket, Key="multi/obj", UploadId=up["UploadId"], MultipartUpload={"Parts": done}
)
want = '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + '-2"'
same("multipart complete ETag", fin["ETag"], want)
same("multipart GET ETag", s3.get_object(Bucket=bucket, Key="multi/obj", Range="bytes=0-0").get("ETag"), want)
same("multipart HEAD ETag", s3.head_object(Bucket=bucket, Key="multi/obj")["ETag"], want)
same("multipart list ETag", listed_etag("multi/obj"), want)

# GET conditions.
get = lambda **kw: s3.get_object(Bucket=bucket, Key="single/obj", **kw)
same("If-Match same", status_of(lambda: get(IfMatch=md5)), 200)
same("If-Match *", status_of(lambda: get(IfMatch="*")), 200)
same("If-Match other", status_of(lambda: get(IfMatch='"0123"')), 412)
same("If-Match other, ranged", status_of(lambda: get(IfMatch='"0123"', Range="bytes=0-9")), 412)
same("If-None-Match same", status_of(lambda: get(IfNoneMatch=md5)), 304)
same("If-None-Match *", status_of(lambda: get(IfNoneMatch="*")), 304)
same("If-None-Match other", status_of(lambda: get(IfNoneMatch='"0123"')), 200)
# After an overwrite the old ETag no longer matches.
s3.put_object(Bucket=bucket, Key="single/obj", Body=b"new bytes")
same("If-Match old after overwrite", status_of(lambda: get(IfMatch=md5)), 412)
print("ok")
