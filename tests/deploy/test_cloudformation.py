"""The CloudFormation templates under ``deploy/`` declare exactly the AWS resources the code expects.

Every expected value is derived from :mod:`lava_core.backend.aws_schema` (and the prefix default
of :mod:`lava_core.backend.aws_setup`), never copied here, so a change to the code that is not
made to the templates fails these tests, and so does a table or queue the code does not know.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import pytest

from lava_core.backend import aws_schema
from lava_core.backend.aws_schema import TABLES, TableSpec
from lava_core.backend.aws_setup import CREATED, EXISTS, default_prefix, init_aws_realm

from tests.deploy.cfn_template import DEPLOY, Att, Ref, Rendered, load_template

REALM_TEMPLATE = "lava-realm.cfn.yaml"
FLEET_TEMPLATE = "lava-fleet.cfn.yaml"
REALM = "demo_1"
FLEET = "batch-gpu"
BUCKET = "lava-demo-bucket"
TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
# A template decision rather than a code fact: the two tables whose contents cannot be rebuilt.
PITR_ROLES = {"jobs", "events"}


@pytest.fixture(scope="module")
def realm_template() -> dict[str, Any]:
    return load_template(REALM_TEMPLATE)


@pytest.fixture(scope="module")
def fleet_template() -> dict[str, Any]:
    return load_template(FLEET_TEMPLATE)


def render_realm(template: dict[str, Any], **parameters: str | int) -> Rendered:
    return Rendered(template, {"RealmName": REALM, "BucketName": BUCKET, **parameters})


def render_fleet(template: dict[str, Any], **parameters: str | int) -> Rendered:
    return Rendered(template, {"RealmName": REALM, "FleetName": FLEET, **parameters})


def tables_by_name(rendered: Rendered) -> dict[str, tuple[str, dict[str, Any]]]:
    """Declared tables by their (resolved) TableName: (logical id, resource)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical, resource in rendered.of_type(TABLE).items():
        name = resource["Properties"]["TableName"]
        assert name not in found, f"table {name} declared twice ({found[name][0]}, {logical})"
        found[name] = (logical, resource)
    return found


def indexes(declared: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Index name → its key schema and projection (non-key attributes as a set: their order is not significant)."""
    result = {}
    for index in declared:
        projection = dict(index["Projection"])
        if "NonKeyAttributes" in projection:
            projection["NonKeyAttributes"] = set(projection["NonKeyAttributes"])
        result[index["IndexName"]] = {"KeySchema": index["KeySchema"], "Projection": projection}
    return result


def attribute_types(definitions: list[dict[str, str]]) -> dict[str, str]:
    return {d["AttributeName"]: d["AttributeType"] for d in definitions}


def queue_properties_as_attributes(properties: dict[str, Any]) -> dict[str, Any]:
    """``AWS::SQS::Queue`` properties as the ``CreateQueue`` attributes they set (values as SQS gives them back).

    The redrive policy is returned parsed, with a numeric ``maxReceiveCount``.
    """
    attributes: dict[str, Any] = {}
    for name, value in properties.items():
        if name == "QueueName":
            continue
        if name == "RedrivePolicy":
            policy = json.loads(value) if isinstance(value, str) else dict(value)
            policy["deadLetterTargetArn"] = str(policy["deadLetterTargetArn"])
            policy["maxReceiveCount"] = int(policy["maxReceiveCount"])
            attributes[name] = policy
        elif isinstance(value, bool):
            attributes[name] = "true" if value else "false"
        else:
            attributes[name] = str(value)
    return attributes


def code_queue_attributes(attributes: dict[str, str]) -> dict[str, Any]:
    """The code's attributes in the same form (redrive policy parsed)."""
    result: dict[str, Any] = dict(attributes)
    if "RedrivePolicy" in result:
        result["RedrivePolicy"] = json.loads(result["RedrivePolicy"])
    return result


# ---------------------------------------------------------------------- realm template: tables
@pytest.mark.parametrize("spec", TABLES, ids=[t.role for t in TABLES])
def test_every_table_of_the_code_is_declared_alike(realm_template, spec: TableSpec):
    declared = tables_by_name(render_realm(realm_template))
    name = spec.table_name(REALM)
    assert name in declared, f"the template declares no table {name} (aws_schema role {spec.role!r})"
    logical, resource = declared[name]
    properties = resource["Properties"]
    expected = spec.create_arguments(REALM)

    assert properties["KeySchema"] == expected["KeySchema"], logical
    assert attribute_types(properties["AttributeDefinitions"]) == attribute_types(expected["AttributeDefinitions"])
    assert len(properties["AttributeDefinitions"]) == len(expected["AttributeDefinitions"]), "duplicate attribute"
    assert properties["BillingMode"] == expected["BillingMode"]
    assert indexes(properties.get("GlobalSecondaryIndexes", [])) == indexes(expected.get("GlobalSecondaryIndexes", []))
    assert indexes(properties.get("LocalSecondaryIndexes", [])) == indexes(expected.get("LocalSecondaryIndexes", []))
    if spec.ttl_attribute:
        assert properties.get("TimeToLiveSpecification") == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in properties
    # CreateTable arguments this test does not compare yet: teach it (and the template) about them.
    unchecked = set(expected) - {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode",
                                 "GlobalSecondaryIndexes", "LocalSecondaryIndexes"}
    assert not unchecked, f"aws_schema passes {sorted(unchecked)} to CreateTable; compare them here"

    # Data outlives the stack; RetainExceptOnCreate differs from Retain only on a failed first create.
    assert resource["DeletionPolicy"] in {"Retain", "RetainExceptOnCreate"}
    assert resource["UpdateReplacePolicy"] == "Retain"
    pitr = properties.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled", False)
    assert pitr is (spec.role in PITR_ROLES)


@pytest.mark.parametrize("realm", [REALM, "prod"])
def test_the_template_declares_no_table_the_code_does_not_know(realm_template, realm):
    declared = tables_by_name(render_realm(realm_template, RealmName=realm))
    assert sorted(declared) == sorted(spec.table_name(realm) for spec in TABLES)


def test_shared_tables_only_when_asked(realm_template):
    shared = {spec.table_name(REALM) for spec in TABLES if spec.shared}
    per_realm = {spec.table_name(REALM) for spec in TABLES if not spec.shared}
    assert shared == {aws_schema.REALMS_TABLE}
    assert set(tables_by_name(render_realm(realm_template))) == shared | per_realm  # CreateRealmsTable defaults true
    first = render_realm(realm_template, CreateRealmsTable="true")
    others = render_realm(realm_template, CreateRealmsTable="false")
    assert set(tables_by_name(first)) == shared | per_realm
    assert set(tables_by_name(others)) == per_realm
    # No output refers to a resource that is not there.
    for rendered in (first, others):
        referenced = {v.resource for v in rendered.outputs.values() if isinstance(v, Ref | Att)}
        assert referenced <= set(rendered.resources)


def test_every_table_has_name_and_arn_outputs(realm_template):
    rendered = render_realm(realm_template)
    values = {str(v) for v in rendered.outputs.values()}
    for logical in rendered.of_type(TABLE):
        assert {str(Ref(logical)), str(Att(logical, "Arn"))} <= values


# ---------------------------------------------------------------------- realm template: bucket and record
def test_bucket_is_private_encrypted_unversioned_and_expires_outputs(realm_template):
    rendered = render_realm(realm_template)
    (bucket,) = rendered.of_type("AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert properties["BucketName"] == BUCKET
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert "VersioningConfiguration" not in properties
    (expiry,) = properties["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled"
    assert expiry["Prefix"] == f"{default_prefix(REALM)}/temp/"
    assert int(expiry["ExpirationInDays"]) == 3
    assert realm_template["Parameters"]["TempExpiryDays"]["Default"] == 3


def test_bucket_prefix_and_expiry_follow_the_parameters(realm_template):
    rendered = render_realm(realm_template, Prefix="teams/data/lava", TempExpiryDays=7)
    (bucket,) = rendered.of_type("AWS::S3::Bucket").values()
    (expiry,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert expiry["Prefix"] == "teams/data/lava/temp/"
    assert int(expiry["ExpirationInDays"]) == 7
    assert rendered.outputs["S3Temp"] == f"s3://{BUCKET}/teams/data/lava/temp"
    assert render_realm(realm_template, CreateBucket="false").of_type("AWS::S3::Bucket") == {}


@pytest.mark.parametrize("prefix", ["", "teams/data/lava"])
def test_realm_record_outputs_match_the_layout_of_realm_init(realm_template, prefix):
    rendered = render_realm(realm_template, Prefix=prefix)
    root = f"{BUCKET}/{prefix or default_prefix(REALM)}"
    record = {"realm": REALM, "s3_payloads": f"s3://{root}/payloads", "s3_temp": f"s3://{root}/temp"}
    assert rendered.outputs["S3Payloads"] == record["s3_payloads"]
    assert rendered.outputs["S3Temp"] == record["s3_temp"]
    # The lifecycle rule expires exactly the outputs area.
    (bucket,) = rendered.of_type("AWS::S3::Bucket").values()
    (expiry,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert f"s3://{BUCKET}/{expiry['Prefix']}" == record["s3_temp"] + "/"
    command = rendered.outputs["RealmRecordCommand"]
    assert command.startswith(f"aws dynamodb put-item --table-name {aws_schema.REALMS_TABLE} ")
    assert '--condition-expression "attribute_not_exists(realm)"' in command
    item = json.loads(re.search(r"--item '([^']*)'", command).group(1))
    assert item == {key: {"S": value} for key, value in record.items()}


def test_realm_parameters(realm_template):
    parameters = realm_template["Parameters"]
    assert set(parameters) == {"RealmName", "BucketName", "Prefix", "CreateBucket", "TempExpiryDays",
                               "CreateRealmsTable"}
    assert parameters["Prefix"]["Default"] == ""
    for flag in ("CreateBucket", "CreateRealmsTable"):
        assert sorted(parameters[flag]["AllowedValues"]) == ["false", "true"]
    # Realm names with a dot would break the lava.<realm>.<role> table names (realm init refuses them too).
    with pytest.raises(AssertionError, match="pattern"):
        render_realm(realm_template, RealmName="a.b")


# ---------------------------------------------------------------------- fleet template: queues
def declared_queues(rendered: Rendered) -> dict[str, tuple[str, dict[str, Any]]]:
    return {q["Properties"]["QueueName"]: (logical, q) for logical, q in rendered.of_type(QUEUE).items()}


@pytest.mark.parametrize("max_receives", [None, 3])
def test_fleet_queue_and_dead_letter_queue_match_the_code(fleet_template, max_receives):
    overrides = {} if max_receives is None else {"MaxReceiveCount": max_receives}
    queues = declared_queues(render_fleet(fleet_template, **overrides))
    name = aws_schema.queue_name(REALM, FLEET)
    dlq_name = aws_schema.dead_letter_queue_name(REALM, FLEET)
    assert sorted(queues) == sorted([name, dlq_name]), "the template declares other queues than the code's"

    dlq_logical, dlq = queues[dlq_name]
    assert queue_properties_as_attributes(dlq["Properties"]) == aws_schema.dead_letter_queue_attributes()

    _, queue = queues[name]
    dlq_arn = str(Att(dlq_logical, "Arn"))
    expected = (aws_schema.queue_attributes(dlq_arn) if max_receives is None
                else aws_schema.queue_attributes(dlq_arn, max_receives))
    assert queue_properties_as_attributes(queue["Properties"]) == code_queue_attributes(expected)


def test_fleet_parameter_defaults_are_the_code_defaults(fleet_template):
    parameters = fleet_template["Parameters"]
    assert set(parameters) == {"RealmName", "FleetName", "MaxReceiveCount", "VisibilityTimeout"}
    assert parameters["MaxReceiveCount"]["Default"] == aws_schema.DEFAULT_MAX_RECEIVES
    assert parameters["VisibilityTimeout"]["Default"] == aws_schema.QUEUE_VISIBILITY_TIMEOUT
    # The longest names the parameters allow still fit SQS's 80-character limit.
    longest = aws_schema.dead_letter_queue_name("r" * parameters["RealmName"]["MaxLength"],
                                                "f" * parameters["FleetName"]["MaxLength"])
    assert len(longest) <= 80
    # The fleet stack accepts every realm name the realm stack accepts.
    constraints = {"Type", "AllowedPattern", "MinLength", "MaxLength"}
    realm_parameter = load_template(REALM_TEMPLATE)["Parameters"]["RealmName"]
    assert {k: realm_parameter.get(k) for k in constraints} == {k: parameters["RealmName"].get(k) for k in constraints}


def test_fleet_outputs(fleet_template):
    rendered = render_fleet(fleet_template)
    values = {str(v) for v in rendered.outputs.values()}
    for logical in rendered.of_type(QUEUE):
        assert {str(Ref(logical)), str(Att(logical, "Arn"))} <= values


# ---------------------------------------------------------------------- cfn-lint
@pytest.mark.parametrize("name", [REALM_TEMPLATE, FLEET_TEMPLATE])
def test_cfn_lint_finds_nothing(name):
    """Property names and types against the CloudFormation resource specification (cfn-lint: the test extra)."""
    from cfnlint import api

    matches = api.lint_file(DEPLOY / name)
    assert [str(m) for m in matches] == []


# ---------------------------------------------------------------------- deployed on moto
def test_templates_deploy_on_moto_and_realm_init_finds_everything(lava_moto_server):
    """Deploy both stacks on the moto server, compare what exists with aws_schema, then run realm init.

    moto 5.2.5's CloudFormation creates the tables with their keys, attribute definitions, GSIs and
    LSIs, the queues with every attribute, and the bucket with its encryption. It does not apply
    ``TimeToLiveSpecification`` or ``PointInTimeRecoverySpecification`` (the tables come out with
    TTL and PITR disabled), nor the bucket's ``LifecycleConfiguration`` or
    ``PublicAccessBlockConfiguration``: those are checked on the template text above only.
    """
    lava_moto_server.reset()
    try:
        check_deployed_stacks()
    finally:
        lava_moto_server.reset()  # leave no stacks behind for later tests on the shared server


def check_deployed_stacks() -> None:
    cloudformation = boto3.client("cloudformation")
    realm_stack = deploy(cloudformation, f"lava-realm-{REALM}", REALM_TEMPLATE, RealmName=REALM, BucketName=BUCKET)
    fleet_stack = deploy(cloudformation, f"lava-fleet-{REALM}-{FLEET}", FLEET_TEMPLATE, RealmName=REALM,
                         FleetName=FLEET)

    dynamodb = boto3.client("dynamodb")
    assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(spec.table_name(REALM) for spec in TABLES)
    for spec in TABLES:
        table = dynamodb.describe_table(TableName=spec.table_name(REALM))["Table"]
        expected = spec.create_arguments(REALM)
        assert table["KeySchema"] == expected["KeySchema"]
        assert attribute_types(table["AttributeDefinitions"]) == attribute_types(expected["AttributeDefinitions"])
        assert table["BillingModeSummary"]["BillingMode"] == expected["BillingMode"]
        assert indexes(table.get("GlobalSecondaryIndexes", [])) == indexes(expected.get("GlobalSecondaryIndexes", []))
        assert indexes(table.get("LocalSecondaryIndexes", [])) == indexes(expected.get("LocalSecondaryIndexes", []))
        assert {spec.table_name(REALM), table["TableArn"]} <= set(realm_stack.values()), "no name/ARN output"

    sqs = boto3.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName=aws_schema.dead_letter_queue_name(REALM, FLEET))["QueueUrl"]
    url = sqs.get_queue_url(QueueName=aws_schema.queue_name(REALM, FLEET))["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {k: dlq[k] for k in aws_schema.dead_letter_queue_attributes()} == aws_schema.dead_letter_queue_attributes()
    expected_queue = code_queue_attributes(aws_schema.queue_attributes(dlq["QueueArn"]))
    assert code_queue_attributes({k: queue[k] for k in expected_queue}) == expected_queue
    assert fleet_stack["QueueArn"] == queue["QueueArn"]
    assert fleet_stack["DeadLetterQueueArn"] == dlq["QueueArn"]

    s3 = boto3.client("s3")
    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert encryption[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    # What `lava realm init --aws` does afterwards: find everything, add only the realm record.
    done = init_aws_realm(REALM, bucket=BUCKET, fleets=[FLEET])
    statuses = {(r.kind, r.name): r.status for r in done}
    expected_statuses = {("dynamodb table", spec.table_name(REALM)): EXISTS for spec in TABLES}
    expected_statuses |= {("s3 bucket", BUCKET): EXISTS,
                          ("sqs queue", aws_schema.dead_letter_queue_name(REALM, FLEET)): EXISTS,
                          ("sqs queue", aws_schema.queue_name(REALM, FLEET)): EXISTS,
                          ("realm record", REALM): CREATED}
    assert statuses == expected_statuses
    for resource in done:
        # No key or index differences. (Under moto the detail of the TTL tables also says realm init
        # turned TTL on, because moto's CloudFormation left it off; on AWS the template turns it on.)
        assert "WARNING" not in resource.detail and "missing" not in resource.detail, resource

    # The record realm init wrote is the one the stack's RealmRecordCommand output would write.
    item = dynamodb.get_item(TableName=aws_schema.REALMS_TABLE, Key={"realm": {"S": REALM}})["Item"]
    command_item = json.loads(re.search(r"--item '([^']*)'", realm_stack["RealmRecordCommand"]).group(1))
    assert item == command_item
    # A second realm in the same account shares lava.realms and the bucket.
    deploy(cloudformation, "lava-realm-second", REALM_TEMPLATE, RealmName="second", BucketName=BUCKET,
           CreateRealmsTable="false", CreateBucket="false")
    assert {spec.table_name("second") for spec in TABLES} <= set(dynamodb.list_tables()["TableNames"])


def deploy(cloudformation: Any, stack: str, template: str, **parameters: str) -> dict[str, str]:
    """Create a stack, wait until it is complete and return its outputs."""
    cloudformation.create_stack(
        StackName=stack, TemplateBody=(DEPLOY / template).read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    deadline = time.monotonic() + 30
    while True:
        description = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        if not description["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert description["StackStatus"] == "CREATE_COMPLETE", description.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
