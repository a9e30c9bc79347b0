"""Schemathesis over every operation of /api/v1/openapi.json: no 5xx, and documented responses.

Generated cases per operation are bounded (``MAX_EXAMPLES``), sent as a tenant admin through
the WSGI app. Path parameters are random, so most cases are hostile input: wrong types,
huge strings, unknown ids, missing fields.
"""
import schemathesis
from hypothesis import HealthCheck, given, settings
# "Schema-valid data must be accepted" cannot hold here: a PDF that is not a PDF, or strokes
# that are a dot, fit any schema and are rightly refused with 422.
from schemathesis.specs.openapi.checks import positive_data_acceptance

MAX_EXAMPLES = 10


@schemathesis.serializer("application/pdf", "image/png", "application/x-pkcs12")
def _binary(ctx, value):
    """Uploads documented as raw bytes: send whatever was generated as bytes."""
    return {"data": value if isinstance(value, bytes) else str(value).encode("utf-8")}
_settings = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_answers_without_server_errors(app, world):
    operations = _operations(app)
    assert len(operations) > 40
    headers = world.auth()
    failures, mismatches, cases = [], [], 0

    for operation in operations:
        @_settings
        @given(case=operation.as_strategy())
        def run(case):
            nonlocal cases
            cases += 1
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code, response.text[:200]))
            try:
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
            except BaseExceptionGroup as group:   # schemathesis' FailureGroup of failed checks
                for exc in group.exceptions:
                    mismatches.append((case.method, case.formatted_path, response.status_code,
                                       type(exc).__name__, str(exc).splitlines()[0][:120]))

        run()
    print(f"schemathesis: {len(operations)} operations, {cases} cases, {len(failures)} server errors")
    assert failures == [], "\n".join(map(str, failures))
    print(f"schemathesis: {len(mismatches)} responses not as documented")
    assert mismatches == [], "\n".join(map(str, mismatches))
