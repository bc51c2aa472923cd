"""Keystone content of the local cloud (service users, catalog, demo project), clouds.yaml, image, flavor."""

from __future__ import annotations

from typing import Any

import openstack
import yaml

from tests.cloud.layout import ADMIN_PROJECT, DEMO_PROJECT, PASSWORD, REGION, Layout

# (user and service name, service type, endpoint path)
CATALOG = (
    ("placement", "placement", "placement", ""),
    ("glance", "image", "glance", ""),
    ("neutron", "network", "neutron", ""),
    ("nova", "compute", "nova", "/v2.1"),
    ("zaqar", "messaging", "zaqar", ""),
    ("aodh", "alarming", "aodh", ""),
    ("heat", "orchestration", "heat", "/v1/%(project_id)s"),
)
EXTRA_SERVICE_USERS = ("ceilometer",)
ROLES = ("admin", "service", "member", "reader", "heat_stack_owner", "heat_stack_user")
IMAGE_NAME = "vmha-tiny"
FLAVOR_NAME = "m1.tiny"


def write_clouds_yaml(layout: Layout) -> None:
    """clouds.yaml with `vmha-admin` and `vmha-demo` (for OS_CLOUD and openstack.connect(cloud=...))."""
    def cloud(user: str, project: str) -> dict[str, Any]:
        return {
            "auth": {"auth_url": layout.auth_url, "username": user, "password": PASSWORD,
                     "project_name": project, "user_domain_name": "Default", "project_domain_name": "Default"},
            "region_name": REGION, "interface": "public", "identity_api_version": 3,
        }
    clouds = {"clouds": {"vmha-admin": cloud("admin", ADMIN_PROJECT), "vmha-demo": cloud("demo", DEMO_PROJECT)}}
    layout.clouds_yaml.write_text(yaml.safe_dump(clouds, sort_keys=False))


def connect(layout: Layout, cloud: str = "vmha-admin", compute_microversion: str | None = None) -> Any:
    """An openstacksdk connection to the local cloud, optionally pinned to a compute microversion."""
    config = openstack.config.OpenStackConfig(config_files=[str(layout.clouds_yaml)])
    pin: dict[str, Any] = {"compute_api_version": compute_microversion} if compute_microversion else {}
    return openstack.connection.Connection(config=config.get_one(cloud=cloud, **pin))


def _ensure_user(conn: Any, name: str, project: Any, roles: list[Any]) -> None:
    identity: Any = conn.identity
    user = identity.find_user(name, domain_id="default") or identity.create_user(
        name=name, password=PASSWORD, domain_id="default")
    for role in roles:
        identity.assign_project_role_to_user(project, user, role)


def _ensure_project(conn: Any, name: str) -> Any:
    return conn.identity.find_project(name, domain_id="default") or conn.identity.create_project(
        name=name, domain_id="default")


def create_catalog(layout: Layout) -> None:
    """Service project and users, roles, the catalog of every service, and a demo project and user."""
    conn = connect(layout)
    identity: Any = conn.identity
    roles = {name: identity.find_role(name) or identity.create_role(name=name) for name in ROLES}
    service_project = _ensure_project(conn, "service")
    users = [entry[0] for entry in CATALOG] + list(EXTRA_SERVICE_USERS)
    for user in users:
        _ensure_user(conn, user, service_project, [roles["admin"], roles["service"]])
    for user, service_type, port_name, path in CATALOG:
        service = identity.find_service(user) or identity.create_service(name=user, type=service_type)
        if not list(identity.endpoints(service_id=service.id)):
            for interface in ("public", "internal", "admin"):
                identity.create_endpoint(service_id=service.id, interface=interface, region_id=REGION,
                                         url=layout.url(port_name, path))
    demo = _ensure_project(conn, DEMO_PROJECT)
    _ensure_user(conn, "demo", demo, [roles["member"], roles["reader"], roles["heat_stack_owner"]])
    admin = identity.find_user("admin", domain_id="default")
    identity.assign_project_role_to_user(demo, admin, roles["admin"])


def lift_compute_quotas(layout: Layout) -> None:
    """No instance, core or RAM quota in the admin and demo projects: recovery drills and benchmarks boot
    hundreds of fake servers (the default quota is 10 instances)."""
    conn = connect(layout)
    for project in (ADMIN_PROJECT, DEMO_PROJECT):
        conn.set_compute_quotas(project, instances=-1, cores=-1, ram=-1, server_groups=-1)


def create_image_and_flavor(layout: Layout) -> None:
    """A 1 MiB raw image and a 1-vCPU flavor: enough for the fake virt driver. The image asks for the fake
    hypervisor type: Nova's ImagePropertiesFilter never puts its servers on the kvm profile's hosts."""
    conn = connect(layout)
    if conn.image.find_image(IMAGE_NAME) is None:
        conn.image.create_image(name=IMAGE_NAME, disk_format="raw", container_format="bare",
                                visibility="public", data=bytes(1024 * 1024), allow_duplicates=True,
                                hypervisor_type="fake")
    if conn.compute.find_flavor(FLAVOR_NAME) is None:
        conn.compute.create_flavor(name=FLAVOR_NAME, vcpus=1, ram=512, disk=1)
