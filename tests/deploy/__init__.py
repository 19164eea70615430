"""Tests of the CloudFormation templates under deploy/."""
