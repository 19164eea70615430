"""lava-triggers is found through its entry point and registers both trigger sources."""

from __future__ import annotations

import pytest

from lava_core.errors import PluginError
from lava_core.plugins import PluginHost
from lava_triggers import DispatchHelperSource, S3TriggerSource


def test_registered_through_the_entry_point():
    host = PluginHost()
    assert isinstance(host.trigger("s3trigger"), S3TriggerSource)
    assert isinstance(host.trigger("dispatch-helper"), DispatchHelperSource)
    [info] = [i for i in host.plugin_infos() if i.distribution == "lava-triggers"]
    assert (info.name, info.triggers, info.error) == ("triggers", ["s3trigger", "dispatch-helper"], None)


def test_unknown_trigger_source_names_what_is_installed():
    with pytest.raises(PluginError, match=r"no installed plugin provides trigger source 'sftp' \(installed: "
                                          r"dispatch-helper, s3trigger"):
        PluginHost().trigger("sftp")


def test_requests_is_the_plain_contract(lava_realm):
    from tests.triggers.conftest import event, store_jobs

    store_jobs(lava_realm)
    requests = PluginHost().trigger("dispatch-helper").requests(event("helper_direct"), backend=lava_realm)
    assert [(r.job_id, float(r.delay)) for r in requests] == [("helper/b", 30.0), ("helper/a", 0.0)]
