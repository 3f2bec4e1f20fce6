"""Egress for the jobs the operator allows it: a veth pair out of the job's network namespace,
and host rules under which the center's control plane stays unreachable from any job.

Every job runs in a network namespace of its own; by default its only interface is its
loopback. For a job that may reach the outside (``job_egress`` settings; a job that reads
datasets never may, which the caller enforces, see :func:`egress_allowed`), the isolation
wrapper, real root and single-threaded, calls :func:`plumb` from inside the job's fresh
network namespace before it drops to the job's uid. :func:`plumb` creates a veth pair: ``eth0``
stays in the job's namespace with the second address of the slot's ``/30`` (from
``100.64.0.0/14`` by default: 65,536 slots of 4 addresses) and a default route to the first,
which ``aicj<slot>`` in the host's namespace holds. The job cannot change any of it: its
namespace belongs to the host's user namespace, in which the job has no capability. When the
job's namespace goes (its last process exits), the kernel deletes ``eth0`` and with it
``aicj<slot>``: nothing is left on the host.

What a job may reach is decided on the host, by the nftables table ``inet aicenter`` that
:func:`ensure_host_rules` installs (the server, at start, when egress is enabled):

* nothing of the host itself: every packet that arrives from an ``aicj*`` link for the host
  (input hook) is dropped, whichever address it is sent to (the API port, PostgreSQL, any
  service on any host address, the host-side address of any job's link); the host's
  ``127.0.0.1`` is not routable from another namespace at all;
* no other job: forwarding from ``aicj*`` to ``aicj*`` is dropped, and so is anything new
  towards a job, from outside or from the host's own processes (output hook: a job that runs
  on the host network cannot connect to an egress job either);
* none of the operator's control-plane networks (``deny_cidrs``: the database host, other
  nodes of the center) nor ``169.254.0.0/16`` (link-local: cloud metadata services), always;
* IPv4 only: any IPv6 from a job is dropped, and the job's namespace and ``aicj<slot>`` have
  IPv6 disabled (no address, not even link-local). The center has no IPv6 egress path to
  offer (no prefix to hand out, NAT66 would be needed), and one family is one set of rules to
  get right;
* everything else is forwarded, masqueraded to the host's address on the way out; replies
  (``ct state established,related``) come back in.

The host must forward IPv4: :func:`ensure_host_rules` sets ``net.ipv4.ip_forward=1``, a
host-wide change (the host then routes between all of its interfaces, not only for jobs),
which the operator must know about. Each ``aicj<slot>`` also gets strict reverse-path
filtering, so a job cannot send with another source than its own address.

:func:`plumb` refuses (``EgressError``) when the table or one of its chains is missing (a
``flush ruleset`` by a firewall reload): egress is never given unfiltered. A removal *after* a
job started is not noticed by that job's plumbing; :func:`probe` notices it, so the server can
check it periodically and re-run :func:`ensure_host_rules`.

Links, addresses and routes are made through rtnetlink directly (the standard library's
``AF_NETLINK`` sockets), not the ``ip`` command: the wrapper runs it for every job as root
before the job starts, and this way it forks and executes nothing, does not depend on the
node's iproute2 version (naming the host namespace by a file descriptor, for one) nor parse
its output, and each step fails with the kernel's own errno. The host rules are installed with
the ``nft`` command (Debian package ``nftables``), once per server start, where a readable
rule set is worth more than the fork.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import itertools
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_SUBNET = "100.64.0.0/14"
"""Where the slots' ``/30`` subnets come from: a ``/14`` holds one for each of the 65,536
slots. Shared address space (RFC 6598): override it where the site itself uses it."""
ALWAYS_DENIED = ("169.254.0.0/16",)
"""Never reachable from a job whatever the operator lists: link-local, where cloud metadata
services (credentials of the node) answer."""
TABLE = "aicenter"
LINK_PREFIX = "aicj"
JOB_LINK = "eth0"
MAX_SLOT = 65535
STALE_WAIT_S = 3.0
"""How long :func:`plumb` waits for the link of a slot's previous job to go: the kernel
tears a network namespace down asynchronously, after its last process exited."""
MODES = ("none", "listed", "all")
"""``job_egress``: no job, the jobs of the listed organisations and priority classes, all."""

_CLONE_NEWNET = 0x40000000
_NETLINK_ROUTE, _NETLINK_NETFILTER = 0, 12
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_NLM_F_REQUEST, _NLM_F_ACK, _NLM_F_DUMP = 0x1, 0x4, 0x300
_NLM_F_EXCL, _NLM_F_CREATE = 0x200, 0x400
_RTM_NEWLINK, _RTM_DELLINK, _RTM_NEWADDR, _RTM_NEWROUTE = 16, 17, 20, 24
_IFLA_IFNAME, _IFLA_LINKINFO, _IFLA_NET_NS_FD = 3, 18, 28
_IFLA_INFO_KIND, _IFLA_INFO_DATA, _VETH_INFO_PEER = 1, 2, 1
_IFA_ADDRESS, _IFA_LOCAL, _IFA_BROADCAST = 1, 2, 4
_RTA_OIF, _RTA_GATEWAY = 4, 5
_RT_TABLE_MAIN, _RTPROT_BOOT, _RTN_UNICAST = 254, 3, 1
_IFF_UP = 0x1
_NFNL_SUBSYS_NFTABLES, _NFT_MSG_GETCHAIN, _NFT_MSG_GETRULE = 10, 4, 7
_NFPROTO_INET = 1
_NFTA_CHAIN_TABLE, _NFTA_CHAIN_NAME, _NFTA_CHAIN_HOOK = 1, 3, 4
_NFTA_HOOK_HOOKNUM = 1
_NFTA_RULE_TABLE, _NFTA_RULE_CHAIN = 1, 2
_NLA_TYPE_MASK = 0x3FFF

# Chain -> (netfilter hook number, number of rules), as ensure_host_rules writes them.
_CHAINS = {"input": (1, 1), "forward": (2, 8), "output": (3, 2), "postrouting": (4, 1)}

_RULES = """\
table inet {table}
delete table inet {table}
table inet {table} {{
    set deny4 {{
        type ipv4_addr; flags interval;
        elements = {{ {deny} }}
    }}
    chain input {{
        type filter hook input priority filter - 10; policy accept;
        iifname "{jobs}" drop
    }}
    chain forward {{
        type filter hook forward priority filter - 10; policy accept;
        iifname "{jobs}" oifname "{jobs}" drop
        iifname "{jobs}" meta nfproto != ipv4 drop
        iifname "{jobs}" ip daddr @deny4 drop
        iifname "{jobs}" ct state established,related accept
        iifname "{jobs}" ct state new accept
        iifname "{jobs}" drop
        oifname "{jobs}" ct state established,related accept
        oifname "{jobs}" drop
    }}
    chain output {{
        type filter hook output priority filter - 10; policy accept;
        oifname "{jobs}" ct state established,related accept
        oifname "{jobs}" drop
    }}
    chain postrouting {{
        type nat hook postrouting priority srcnat + 10; policy accept;
        iifname "{jobs}" oifname != "{jobs}" masquerade
    }}
}}
"""


class EgressError(Exception):
    """Egress cannot be given (safely) to this job or on this host; the reason says why."""


# -- addresses -------------------------------------------------------------------------------


def slot_addresses(slot: int, subnet: str = DEFAULT_SUBNET
                   ) -> tuple[ipaddress.IPv4Interface, ipaddress.IPv4Interface]:
    """(host side, job side) of ``slot``'s ``/30`` in ``subnet``: the first two usable
    addresses of the ``slot``-th ``/30``. Raises ``EgressError`` if it does not fit."""
    if not 0 <= slot <= MAX_SLOT:
        raise EgressError(f"egress slot {slot} is not in 0..{MAX_SLOT}")
    try:
        network = ipaddress.ip_network(subnet)
    except ValueError as error:
        raise EgressError(f"job egress subnet {subnet!r} is not a network: {error}") from error
    if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen > 30:
        raise EgressError(f"job egress subnet {subnet} must be IPv4 and /30 or larger")
    if (slot + 1) * 4 > network.num_addresses:
        raise EgressError(f"egress slot {slot} does not fit in {subnet} "
                          f"({network.num_addresses // 4} slots of a /30)")
    base = network.network_address + slot * 4
    return (ipaddress.IPv4Interface(f"{base + 1}/30"), ipaddress.IPv4Interface(f"{base + 2}/30"))


def host_link(slot: int) -> str:
    """The name of ``slot``'s link in the host's namespace (15 characters at most)."""
    return f"{LINK_PREFIX}{slot}"


def egress_allowed(mode: str, *, reads_data: bool, org_id: str, priority_class: str,
                   orgs: Sequence[str] = (), priority_classes: Sequence[str] = ()) -> bool:
    """Whether a job gets egress under the ``job_egress`` settings. A job that reads datasets
    never does, whatever the settings: its licensed records must not leave the center."""
    if mode not in MODES:
        raise EgressError(f"job_egress must be one of {', '.join(MODES)}, not {mode!r}")
    if reads_data or mode == "none":
        return False
    return mode == "all" or org_id in orgs or priority_class in priority_classes


def control_plane_cidrs(database_url: str | None, extra: Sequence[str] = ()) -> list[str]:
    """What :func:`ensure_host_rules` must deny besides the host itself: the addresses of the
    database host of ``database_url`` (none for SQLite or a Unix socket) and ``extra``
    (``job_egress_deny``). A database host that does not resolve is an error: its
    addresses would otherwise be reachable."""
    cidrs = list(extra)
    host = urlsplit(database_url).hostname if database_url else None
    if host:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError as error:
            raise EgressError(f"cannot resolve the database host {host!r} to keep it from "
                              f"jobs: {error}") from error
        cidrs += sorted({str(ipaddress.ip_network(str(info[4][0]))) for info in infos})
    return cidrs


# -- netlink ---------------------------------------------------------------------------------


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("HH", length, kind) + data + b"\0" * (-length % 4)


def _attrs(data: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("HH", data, offset)
        if length < 4:
            return
        yield kind & _NLA_TYPE_MASK, data[offset + 4:offset + length]
        offset += (length + 3) & ~3


def _name(text: str) -> bytes:
    return text.encode() + b"\0"


def _ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, flags, change)


class _Netlink:
    """One netlink socket, of the network namespace current when it was made."""

    _sequence = itertools.count(1)

    def __init__(self, protocol: int) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
        self.sock.settimeout(5)
        self.sock.bind((0, 0))

    def close(self) -> None:
        self.sock.close()

    def request(self, kind: int, body: bytes, flags: int = 0) -> list[bytes]:
        """Send one request; the payloads of the replies (a dump's, with ``_NLM_F_DUMP``).
        Raises ``OSError`` with the kernel's errno."""
        seq = next(self._sequence)
        dump = flags & _NLM_F_DUMP == _NLM_F_DUMP
        flags |= _NLM_F_REQUEST | (0 if dump else _NLM_F_ACK)
        self.sock.send(struct.pack("IHHII", 16 + len(body), kind, flags, seq, 0) + body)
        replies: list[bytes] = []
        while True:
            data = self.sock.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, reply, _flags, reply_seq, _pid = struct.unpack_from("IHHII", data, offset)
                if length < 16:
                    break
                payload = data[offset + 16:offset + length]
                offset += (length + 3) & ~3
                if reply_seq != seq:
                    continue
                if reply == _NLMSG_ERROR:
                    (error,) = struct.unpack_from("i", payload)
                    if error:
                        raise OSError(-error, os.strerror(-error))
                    return replies
                if reply == _NLMSG_DONE:
                    return replies
                replies.append(payload)


def _step(what: str, kind: int, body: bytes, link: _Netlink, flags: int = 0) -> None:
    try:
        link.request(kind, body, flags)
    except OSError as error:
        said = f"{error.strerror} (errno {error.errno})" if error.errno else str(error)
        raise EgressError(f"{what}: {said or type(error).__name__}") from error


def _create_veth(link: _Netlink, name: str, peer: str, peer_netns_fd: int) -> None:
    peer_info = (_ifinfo() + _attr(_IFLA_IFNAME, _name(peer))
                 + _attr(_IFLA_NET_NS_FD, struct.pack("I", peer_netns_fd)))
    info = _attr(_IFLA_INFO_KIND, b"veth") + _attr(
        _IFLA_INFO_DATA, _attr(_VETH_INFO_PEER, peer_info))
    _step(f"create the veth pair {name}/{peer}", _RTM_NEWLINK,
          _ifinfo() + _attr(_IFLA_IFNAME, _name(name)) + _attr(_IFLA_LINKINFO, info), link,
          _NLM_F_CREATE | _NLM_F_EXCL)


def _delete_link(link: _Netlink, index: int) -> None:
    link.request(_RTM_DELLINK, _ifinfo(index))


def _configure(link: _Netlink, name: str, address: ipaddress.IPv4Interface) -> int:
    """Give ``name`` its address and bring it up; its index."""
    index = socket.if_nametoindex(name)
    body = (struct.pack("BBBBI", socket.AF_INET, address.network.prefixlen, 0, 0, index)
            + _attr(_IFA_LOCAL, address.ip.packed) + _attr(_IFA_ADDRESS, address.ip.packed)
            + _attr(_IFA_BROADCAST, address.network.broadcast_address.packed))
    _step(f"add {address} to {name}", _RTM_NEWADDR, body, link, _NLM_F_CREATE | _NLM_F_EXCL)
    _step(f"bring {name} up", _RTM_NEWLINK, _ifinfo(index, _IFF_UP, _IFF_UP), link)
    return index


def _default_route(link: _Netlink, index: int, gateway: ipaddress.IPv4Address) -> None:
    body = (struct.pack("BBBBBBBBI", socket.AF_INET, 0, 0, 0, _RT_TABLE_MAIN, _RTPROT_BOOT,
                        0, _RTN_UNICAST, 0)
            + _attr(_RTA_GATEWAY, gateway.packed) + _attr(_RTA_OIF, struct.pack("I", index)))
    _step(f"add the default route via {gateway}", _RTM_NEWROUTE, body, link,
          _NLM_F_CREATE | _NLM_F_EXCL)


def _sysctl(name: str, value: str) -> None:
    """Set a ``net.*`` sysctl of the current network namespace (they are per namespace,
    resolved when the file is opened)."""
    path = Path("/proc/sys") / name.replace(".", "/")
    try:
        path.write_text(value)
    except OSError as error:
        raise EgressError(f"set {name}={value}: {error}") from error


def _rules_problem(table: str) -> str | None:
    """``None`` if ``inet <table>`` has its chains on their hooks with all their rules, in the
    current network namespace; else what is missing (a firewall reload that flushed it)."""
    try:
        nft = _Netlink(_NETLINK_NETFILTER)
    except OSError as error:
        return f"no nf_tables netlink here: {error}"
    try:
        kind_chain = (_NFNL_SUBSYS_NFTABLES << 8) | _NFT_MSG_GETCHAIN
        kind_rule = (_NFNL_SUBSYS_NFTABLES << 8) | _NFT_MSG_GETRULE
        family = struct.pack("BBH", _NFPROTO_INET, 0, 0)
        for chain, (hook, rules) in _CHAINS.items():
            try:
                replies = nft.request(kind_chain, family + _attr(_NFTA_CHAIN_TABLE, _name(table))
                                      + _attr(_NFTA_CHAIN_NAME, _name(chain)))
                found = nft.request(kind_rule, family + _attr(_NFTA_RULE_TABLE, _name(table))
                                    + _attr(_NFTA_RULE_CHAIN, _name(chain)), _NLM_F_DUMP)
            except OSError as error:
                return f"chain {chain} of table inet {table}: {error.strerror}"
            hooks = [struct.unpack(">I", value)[0]
                     for reply in replies for kind, nested in _attrs(reply[4:])
                     if kind == _NFTA_CHAIN_HOOK
                     for sub, value in _attrs(nested) if sub == _NFTA_HOOK_HOOKNUM]
            if hooks != [hook]:
                return f"chain {chain} of table inet {table} is not on its hook"
            if len(found) != rules:
                return (f"chain {chain} of table inet {table} has {len(found)} rules, "
                        f"not {rules}")
        return None
    finally:
        nft.close()


def _gone(path: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _setns(fd: int, what: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(ctypes.c_int(fd), ctypes.c_int(_CLONE_NEWNET)) != 0:
        errno = ctypes.get_errno()
        raise EgressError(f"enter the {what} network namespace: {os.strerror(errno)}")


def _netns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


@contextlib.contextmanager
def _in_namespace(target_fd: int, home_fd: int, home_inode: int) -> Iterator[None]:
    """Run the body in ``target_fd``'s network namespace, then come back; not coming back is
    an error (the job would otherwise run in the host's network)."""
    _setns(target_fd, "host's")
    try:
        yield
    finally:
        _setns(home_fd, "job's")
        if _netns_inode() != home_inode:
            raise EgressError("could not return to the job's network namespace")


# -- the job's side --------------------------------------------------------------------------


def plumb(slot: int, host_netns_fd: int, subnet: str = DEFAULT_SUBNET) -> None:
    """Give the current network namespace (the job's, fresh) a way out: ``eth0`` with the
    slot's job-side address and a default route, its peer ``aicj<slot>`` in the host's
    namespace (``host_netns_fd``) with the host-side address. Needs CAP_NET_ADMIN over both
    (real root), the host rules (checked here: refused without them) and IPv4 forwarding.
    Called once per job by the wrapper, single-threaded (``setns`` moves the calling thread).
    On failure, nothing it made is left and ``EgressError`` says why."""
    host_side, job_side = slot_addresses(slot, subnet)
    peer = host_link(slot)
    home_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    home_inode = _netns_inode()
    if os.fstat(host_netns_fd).st_ino == home_inode:
        os.close(home_fd)
        raise EgressError("plumb must run in the job's own network namespace, not the host's")
    job = _Netlink(_NETLINK_ROUTE)
    created = 0
    try:
        for family in ("all", "default"):  # no IPv6 on eth0, not even link-local
            if os.path.isdir("/proc/sys/net/ipv6"):
                _sysctl(f"net.ipv6.conf.{family}.disable_ipv6", "1")
        with _in_namespace(host_netns_fd, home_fd, home_inode):
            problem = _rules_problem(TABLE)
            if problem is None and Path("/proc/sys/net/ipv4/ip_forward").read_text() != "1\n":
                problem = "net.ipv4.ip_forward is 0"
            if problem is None and not _gone(f"/sys/class/net/{peer}", STALE_WAIT_S):
                problem = f"{peer} exists already (slot {slot} in use)"
        if problem:
            raise EgressError(f"no egress for slot {slot}: {problem}; the server installs the "
                              "host rules when it starts (ensure_host_rules)")
        _create_veth(job, JOB_LINK, peer, host_netns_fd)
        created = socket.if_nametoindex(JOB_LINK)  # by index: names are per namespace
        with _in_namespace(host_netns_fd, home_fd, home_inode):
            if os.path.isdir("/proc/sys/net/ipv6"):
                _sysctl(f"net.ipv6.conf.{peer}.disable_ipv6", "1")
            _sysctl(f"net.ipv4.conf.{peer}.rp_filter", "1")
            host = _Netlink(_NETLINK_ROUTE)
            try:
                _configure(host, peer, host_side)
            finally:
                host.close()
        _configure(job, JOB_LINK, job_side)
        _default_route(job, created, host_side.ip)
    except BaseException as error:
        if created:  # deleting one end deletes the other, in the host's namespace too
            with contextlib.suppress(OSError):
                _delete_link(job, created)
        if isinstance(error, OSError):
            raise EgressError(f"egress for slot {slot}: {error}") from error
        raise
    finally:
        job.close()
        os.close(home_fd)


# -- the host's side -------------------------------------------------------------------------


def _nft() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which("nft", path=path)


def ruleset(deny_cidrs: Sequence[str]) -> str:
    """The nftables script :func:`ensure_host_rules` loads: ``inet aicenter`` replaced as a
    whole in one transaction (never a moment without it). IPv6 entries of ``deny_cidrs`` are
    left out: no IPv6 from a job is forwarded at all."""
    networks: list[ipaddress.IPv4Network] = []
    for cidr in [*ALWAYS_DENIED, *deny_cidrs]:
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError as error:
            raise EgressError(f"job egress deny entry {cidr!r} is not a network: "
                              f"{error}") from error
        if isinstance(network, ipaddress.IPv4Network):
            networks.append(network)
    # overlapping intervals are an error in an nftables set: merge them first
    deny = ", ".join(str(n) for n in ipaddress.collapse_addresses(networks))
    return _RULES.format(table=TABLE, jobs=f"{LINK_PREFIX}*", deny=deny)


def ensure_host_rules(deny_cidrs: list[str]) -> None:
    """Install (or replace: idempotent) the host rules that keep jobs from the host, from each
    other and from ``deny_cidrs``, and turn on IPv4 forwarding (host-wide). Raises
    ``EgressError`` if either cannot be done, in which case no job may get egress."""
    script = ruleset(deny_cidrs)
    nft = _nft()
    if nft is None:
        raise EgressError("nftables is not installed (the nft command; Debian: apt-get install "
                          "nftables): no job can get egress")
    try:
        done = subprocess.run([nft, "-f", "-"], input=script.encode(), capture_output=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EgressError(f"nft did not run: {error}") from error
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()
        raise EgressError(f"installing the host rules (nftables table inet {TABLE}) failed: "
                          f"{said or done.returncode}")
    if Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() != "1":
        _sysctl("net.ipv4.ip_forward", "1")


def probe() -> str | None:
    """``None`` if egress can be given safely on this host now (root, the host rules in place
    and whole, IPv4 forwarding on, veth pairs possible); else the reason."""
    if os.geteuid() != 0:
        return "egress needs the server to run as root (veth pairs, host rules)"
    problem = _rules_problem(TABLE)
    if problem:
        return f"the host rules are not in place: {problem}"
    if Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() != "1":
        return "net.ipv4.ip_forward is 0 (jobs' packets would not be forwarded)"
    return _veth_problem()


_VETH_CHECK = """
import ctypes, os, socket
from aicenter.backends.local import egress
if ctypes.CDLL(None, use_errno=True).unshare(egress._CLONE_NEWNET) != 0:
    raise SystemExit('unshare(CLONE_NEWNET): ' + os.strerror(ctypes.get_errno()))
link = egress._Netlink(egress._NETLINK_ROUTE)
fd = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
egress._create_veth(link, 'probe0', 'probe1', fd)
"""


def _veth_problem() -> str | None:
    """Whether the kernel makes veth pairs, tried in a throwaway network namespace (a fresh
    process: the server may have threads, and ``unshare`` of one would not be undone)."""
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _VETH_CHECK], capture_output=True,
                              timeout=30, check=False, env={})
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"the veth check did not run: {error}"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return f"no veth pair can be made here: {said[-1] if said else done.returncode}"
    return None

