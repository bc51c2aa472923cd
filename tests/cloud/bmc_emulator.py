"""The BMC of one fake compute host: Redfish (sushy-tools' emulator) and IPMI (pyghmi's BMC server) over one
shared power state, a domain of libvirt's test driver named after the host.

Runs in the cloud's virtualenv: `python bmc_emulator.py HOST REDFISH_PORT IPMI_PORT USER PASSWORD WORKDIR
[GUESTS_URI]`. Killing the host's nova-compute leaves this process running, so the BMC keeps answering "On"
until fenced. With GUESTS_URI (a kvm-profile host's own libvirtd), powering the host off or resetting it, by
Redfish or IPMI, first destroys every guest of that libvirtd, as a real power cut ends the host's VMs.
"""

import sys
import threading
import traceback
import uuid
from pathlib import Path

import bcrypt
import libvirt
from pyghmi.ipmi import bmc as ipmi_bmc
from pyghmi.ipmi.private import serversession
from sushy_tools.emulator import main as redfish
from sushy_tools.emulator.resources.systems import libvirtdriver

LIBVIRT_URI = "test:///default"  # in-process driver; its state lives while one connection stays open
DOMAIN_XML = """<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>
<memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"""
NAMESPACE = uuid.UUID("0b7e6ad2-8f8e-4c1a-9d67-3c3f7c1f5b10")


def host_domain(conn, host):
    """Define and start the domain standing for ``host`` (its UUID is derived from the name); drop the
    driver's sample domain so the BMC manages exactly one system."""
    for sample in conn.listAllDomains():
        if sample.name() != host:
            sample.destroy()
            sample.undefine()
    domain = conn.defineXML(DOMAIN_XML.format(name=host, uuid=uuid.uuid5(NAMESPACE, host)))
    if not domain.isActive():
        domain.create()
    return domain


RMCP_INVALID_AUTH_ALGORITHM = 0x11
_open_session_response = serversession.ServerSession.create_open_session_response


def _sha1_only_open_session_response(session, request):
    """Refuse RMCP+ sessions asking for anything but HMAC-SHA1 authentication (cipher suite 3), as a BMC
    that supports only that suite does; pyghmi's server would otherwise accept a SHA-256 request and then
    answer with SHA-1, which clients cannot verify. The refusal makes clients retry with SHA-1."""
    if request[12] != 1:  # authentication algorithm of the open-session request
        return bytearray([request[0], RMCP_INVALID_AUTH_ALGORITHM, 0, 0]) + request[4:8] + bytearray(4)
    return _open_session_response(session, request)


serversession.ServerSession.create_open_session_response = _sha1_only_open_session_response


class HostIpmiBmc(ipmi_bmc.Bmc):
    """IPMI chassis power commands acting on the host's domain."""

    def __init__(self, domain, authdata, port, guests_uri=None):
        super().__init__(authdata, port=port, address="127.0.0.1")
        self.domain = domain
        self.guests_uri = guests_uri

    def get_power_state(self):
        return "on" if self.domain.isActive() else "off"

    def power_off(self):
        if self.guests_uri:
            destroy_guests(self.guests_uri)
        if self.domain.isActive():
            self.domain.destroy()

    def power_on(self):
        if not self.domain.isActive():
            self.domain.create()

    def power_shutdown(self):
        self.power_off()

    def power_reset(self):
        self.power_off()
        self.power_on()

    def power_cycle(self):
        self.power_reset()


def serve_ipmi(bmc):
    """Answer IPMI for ever: a client that abandons a login half-way (unknown user, wrong password) makes
    pyghmi's server raise on its next packet, which must not silence the BMC."""
    while True:
        try:
            bmc.listen()
        except Exception:
            traceback.print_exc()


def destroy_guests(guests_uri):
    """Destroy every running domain of the host's libvirtd (its definitions stay, as on a real host)."""
    conn = libvirt.open(guests_uri)
    try:
        for guest in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                guest.destroy()
            except libvirt.libvirtError:
                traceback.print_exc()
    finally:
        conn.close()


POWER_CUTS = ("ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart", "PowerCycle")


def cut_guests_on_redfish_power_off(guests_uri):
    """Make the Redfish emulator destroy the guests before it turns the host's domain off (or resets it):
    once the BMC reports the power off, no guest of the host runs."""
    set_power_state = libvirtdriver.LibvirtDriver.set_power_state

    def set_power_state_cutting_guests(self, identity, state):
        if state in POWER_CUTS:
            destroy_guests(guests_uri)
        return set_power_state(self, identity, state)

    libvirtdriver.LibvirtDriver.set_power_state = set_power_state_cutting_guests


def main(argv):
    host, redfish_port, ipmi_port, user, password, workdir, *guests = argv
    guests_uri = guests[0] if guests else None
    conn = libvirt.open(LIBVIRT_URI)
    domain = host_domain(conn, host)
    if guests_uri:
        cut_guests_on_redfish_power_off(guests_uri)
    ipmi = HostIpmiBmc(domain, {user: password}, int(ipmi_port), guests_uri)
    threading.Thread(target=serve_ipmi, args=(ipmi,), daemon=True, name="ipmi").start()
    auth_file = Path(workdir) / f"{host}.htpasswd"
    auth_file.write_text(f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()}\n")
    redfish.app.configure(extra_config={"SUSHY_EMULATOR_LIBVIRT_URI": LIBVIRT_URI,
                                        "SUSHY_EMULATOR_AUTH_FILE": str(auth_file)})
    redfish.app.run(host="127.0.0.1", port=int(redfish_port), threaded=True)
    conn.close()


if __name__ == "__main__":
    main(sys.argv[1:8])
