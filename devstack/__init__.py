"""Development and test infrastructure: the embedded S3 server (SeaweedFS) that `make run`, the
test suite and the benchmarks start on 127.0.0.1. A Django app only to offer `manage.py
objectstore`; production never uses it (it points S3_ENDPOINT_URL at a real S3 service)."""
