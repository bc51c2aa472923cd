"""Configuration files of the OpenStack services, generated from the layout (ports, paths, passwords)."""

from __future__ import annotations

import configparser
from pathlib import Path

from tests.cloud.layout import COMPUTE_HOSTS, HOST, PASSWORD, REGION, Layout

Sections = dict[str, dict[str, str]]


def _service_user(layout: Layout, user: str) -> dict[str, str]:
    return {
        "auth_url": layout.auth_url, "auth_type": "password", "username": user, "password": PASSWORD,
        "project_name": "service", "user_domain_name": "Default", "project_domain_name": "Default",
        "region_name": REGION,
    }


def _trustee(layout: Layout, user: str) -> dict[str, str]:
    """A service user's credentials without a project: a token through a trust takes the trust's."""
    return {k: v for k, v in _service_user(layout, user).items()
            if k not in ("project_name", "project_domain_name", "region_name")}


def _authtoken(layout: Layout, user: str) -> dict[str, str]:
    return {"www_authenticate_uri": layout.auth_url, **_service_user(layout, user)}


def _common(layout: Layout, name: str) -> dict[str, str]:
    return {"transport_url": layout.transport_url, "log_file": str(layout.log / f"{name}.log")}


def keystone(layout: Layout) -> Sections:
    keys = layout.state / "keystone"
    return {
        "DEFAULT": {"log_file": str(layout.log / "keystone.log")},
        "database": {"connection": layout.db_url("keystone")},
        "token": {"provider": "fernet"},
        "fernet_tokens": {"key_repository": str(keys / "fernet-keys")},
        "credential": {"key_repository": str(keys / "credential-keys")},
        "identity": {"password_hash_rounds": "4"},  # fast logins; loopback-only test cloud
    }


def placement(layout: Layout) -> Sections:
    return {
        "DEFAULT": {"log_file": str(layout.log / "placement.log")},
        "placement_database": {"connection": layout.db_url("placement")},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": _authtoken(layout, "placement"),
    }


def glance(layout: Layout) -> Sections:
    store = layout.state / "glance"
    return {
        "DEFAULT": {"log_file": str(layout.log / "glance-api.log"), "enabled_backends": "fs:file",
                    "worker_self_reference_url": layout.url("glance")},
        "database": {"connection": layout.db_url("glance")},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": str(store / "images")},
        "os_glance_staging_store": {"filesystem_store_datadir": str(store / "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": str(store / "tasks")},
        "paste_deploy": {"flavor": "keystone"},
        "keystone_authtoken": _authtoken(layout, "glance"),
    }


def neutron(layout: Layout) -> Sections:
    return {
        "DEFAULT": {**_common(layout, "neutron-api"), "core_plugin": "ml2", "auth_strategy": "keystone",
                    "service_plugins": "router,port_forwarding", "bind_host": HOST,
                    "api_paste_config": str(layout.etc / "neutron" / "api-paste.ini"),
                    "state_path": str(layout.state / "neutron"),
                    "notify_nova_on_port_status_changes": "false", "notify_nova_on_port_data_changes": "false"},
        "database": {"connection": layout.db_url("neutron")},
        "oslo_concurrency": {"lock_path": str(layout.state / "neutron" / "lock")},
        "keystone_authtoken": _authtoken(layout, "neutron"),
    }


def neutron_ml2() -> Sections:
    # No mechanism driver and no agents: the API serves reads; servers boot with `networks: none`.
    return {"ml2": {"type_drivers": "local,flat", "tenant_network_types": "local", "mechanism_drivers": "",
                    "extension_drivers": "port_security"}}


def nova(layout: Layout) -> Sections:
    state = layout.state / "nova"
    return {
        "DEFAULT": {
            **_common(layout, "nova"), "my_ip": HOST, "state_path": str(state),
            "instances_path": str(state / "instances"), "compute_driver": "vmha_fake.StableFakeDriver",
            "report_interval": "5", "service_down_time": "30",  # a dead host shows `down` in 30 s
            "osapi_compute_listen": HOST, "metadata_listen": HOST,
        },
        "wsgi": {"api_paste_config": str(layout.etc / "nova" / "api-paste.ini")},
        "api": {"auth_strategy": "keystone"},
        "api_database": {"connection": layout.db_url("nova_api")},
        "database": {"connection": layout.db_url("nova")},
        "oslo_concurrency": {"lock_path": str(state / "lock")},
        "scheduler": {"workers": "1", "discover_hosts_in_cells_interval": "10"},
        "conductor": {"workers": "1"},
        # Spread evacuees over the surviving hosts instead of stacking them on the first.
        "filter_scheduler": {"shuffle_best_same_weighed_hosts": "true", "host_subset_size": "3"},
        "keystone_authtoken": _authtoken(layout, "nova"),
        "service_user": {"send_service_user_token": "true", **_service_user(layout, "nova")},
        "placement": _service_user(layout, "placement"),
        "neutron": _service_user(layout, "nova"),
        "glance": {"region_name": REGION},
        "notifications": {"notify_on_state_change": "vm_and_task_state", "notification_format": "both"},
        "oslo_messaging_notifications": {"driver": "messagingv2"},
        "vnc": {"enabled": "false"},
        "key_manager": {"backend": "nova.keymgr.conf_key_mgr.ConfKeyManager"},
    }


def nova_compute(host: str, layout: Layout) -> Sections:
    return {"DEFAULT": {"host": host, "log_file": str(layout.log / f"nova-{host}.log")}}


def zaqar(layout: Layout) -> Sections:
    return {
        "DEFAULT": {"log_file": str(layout.log / "zaqar.log"), "unreliable": "True", "admin_mode": "True",
                    "auth_strategy": "keystone"},
        "drivers": {"transport": "wsgi", "message_store": "redis", "management_store": "sqlalchemy"},
        "drivers:transport:wsgi": {"bind": HOST, "port": str(layout.ports["zaqar"])},
        "drivers:message_store:redis": {"uri": layout.redis_url, "database": "zaqar"},
        "drivers:management_store:sqlalchemy": {"uri": layout.db_url("zaqar")},
        "storage": {"message_pipeline": "zaqar.notification.notifier"},  # webhook subscriptions
        "signed_url": {"secret_key": "local-cloud-signing-key"},
        "keystone_authtoken": _authtoken(layout, "zaqar"),
        # trust+http subscribers: Zaqar makes a trust from the subscriber's creator to this user and pushes
        # with a token through it (vmha's webhooks without bearer URLs)
        "trustee": _trustee(layout, "zaqar"),
    }


def aodh(layout: Layout) -> Sections:
    return {
        # event_alarm_cache_ttl 0: new alarms fire at once (the 60 s default hides them from tests).
        "DEFAULT": {**_common(layout, "aodh"), "evaluation_interval": "10", "event_alarm_cache_ttl": "0"},
        "database": {"connection": layout.db_url("aodh")},
        "api": {"auth_mode": "keystone"},
        "keystone_authtoken": _authtoken(layout, "aodh"),
        "service_credentials": {**_service_user(layout, "aodh"), "interface": "public"},
        "listener": {"event_alarm_topic": "alarm.all"},
        "oslo_messaging_notifications": {"driver": "messagingv2"},
    }


def ceilometer(layout: Layout) -> Sections:
    etc = layout.etc / "ceilometer"
    return {
        "DEFAULT": {**_common(layout, "ceilometer"),
                    "event_pipeline_cfg_file": str(etc / "event_pipeline.yaml")},
        "notification": {"workers": "1", "pipelines": "event"},  # events only: no Gnocchi needed
        "event": {"definitions_cfg_file": str(etc / "event_definitions.yaml")},
        "service_credentials": _service_user(layout, "ceilometer"),
    }


# Every event goes to Aodh's listener topic; this is what makes event alarms fire.
CEILOMETER_EVENT_PIPELINE = """\
sources:
  - name: all_events
    events: ["*"]
    sinks: [aodh]
sinks:
  - name: aodh
    publishers: ["notifier://?topic=alarm.all"]
"""


def heat(layout: Layout) -> Sections:
    return {
        "DEFAULT": {
            **_common(layout, "heat"), "num_engine_workers": "1",
            "auth_encryption_key": "0123456789abcdef0123456789abcdef", "region_name_for_services": REGION,
            "deferred_auth_method": "trusts",
            "heat_metadata_server_url": f"http://{HOST}:8000",  # no CFN API; unused by our resources
            "heat_waitcondition_server_url": f"http://{HOST}:8000/v1/waitcondition",
        },
        "database": {"connection": layout.db_url("heat")},
        "paste_deploy": {"api_paste_config": str(layout.etc / "heat" / "api-paste.ini")},
        "keystone_authtoken": _authtoken(layout, "heat"),
        "trustee": _trustee(layout, "heat"),
        "clients_keystone": {"auth_uri": layout.url("keystone")},
        "oslo_messaging_notifications": {"driver": "messagingv2"},
        "cache": {"enabled": "true", "backend": "dogpile.cache.memory"},
    }


def write_ini(path: Path, sections: Sections) -> None:
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    for name, values in sections.items():
        if name != "DEFAULT":
            parser.add_section(name)
        for key, value in values.items():
            parser.set(name, key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        parser.write(handle)


def config_files(layout: Layout) -> dict[Path, Sections]:
    """Every ini file of the cloud, by path."""
    etc = layout.etc
    files: dict[Path, Sections] = {
        etc / "keystone" / "keystone.conf": keystone(layout),
        etc / "placement" / "placement.conf": placement(layout),
        etc / "glance" / "glance-api.conf": glance(layout),
        etc / "neutron" / "neutron.conf": neutron(layout),
        etc / "neutron" / "plugins" / "ml2" / "ml2_conf.ini": neutron_ml2(),
        etc / "nova" / "nova.conf": nova(layout),
        etc / "zaqar" / "zaqar.conf": zaqar(layout),
        etc / "aodh" / "aodh.conf": aodh(layout),
        etc / "ceilometer" / "ceilometer.conf": ceilometer(layout),
        etc / "heat" / "heat.conf": heat(layout),
    }
    for host in COMPUTE_HOSTS:
        # Each compute in its own directory: Nova reads a `compute_id` file next to every config file.
        files[etc / "nova" / host / "compute.conf"] = nova_compute(host, layout)
    return files
