"""Command line: ``python3 -m evac_dashboard.localcloud <command> [options]``."""
import argparse
import os
import shlex
import socket
import sys

from . import config, hosts, lifecycle, rest, seed, services
from .config import Cloud
from .procs import CloudError


def _size_overrides(items):
    """``cmp3:vcpus=16,ram_gb=64`` -> {"cmp3": {"vcpus": 16, "ram_gb": 64}}."""
    out = {}
    for item in items or []:
        host, _, spec = item.partition(":")
        if not spec:
            raise CloudError("--host-size wants HOST:key=value[,key=value], got %r" % item)
        for kv in spec.split(","):
            key, _, value = kv.partition("=")
            key = key.strip()
            if key not in config.SIZE_KEYS:
                raise CloudError("unknown size key %r (known: %s)" % (key, ", ".join(config.SIZE_KEYS)))
            out.setdefault(host.strip(), {})[key] = float(value) if "ratio" in key else int(value)
    return out


def cmd_up(cloud, args):
    s = cloud.settings
    if args.computes is not None:
        s.computes = args.computes
    if args.port_base is not None and args.port_base != s.port_base:
        if cloud.done("nova-db"):
            # the ports are baked into Nova's cell mappings and Keystone's catalog
            raise CloudError("this cloud was set up with port base %d; `wipe` it first to "
                             "change ports" % s.port_base)
        s.port_base = args.port_base
    for key in config.SIZE_KEYS:
        value = getattr(args, key)
        if value is not None:
            s.size[key] = value
    if args.host_size:
        s.host_sizes.update(_size_overrides(args.host_size))
    if args.bmc_power_delay is not None:
        s.bmc_power_delay = max(0.0, args.bmc_power_delay)
    if args.with_masakari is not None:
        s.with_masakari = args.with_masakari
    lifecycle.up(cloud)
    return 0


def cmd_down(cloud, args):
    return 0 if lifecycle.down(cloud) else 1


def cmd_status(cloud, args):
    return 0 if lifecycle.status(cloud) else 1


def cmd_seed(cloud, args):
    seed.seed(cloud, count=args.servers, on=args.on, prefix=args.prefix, project=args.project,
              flavor=args.flavor)
    return 0


def cmd_delete_servers(cloud, args):
    if not args.prefix and not args.all:
        raise CloudError("give --prefix PREFIX (e.g. bench) or --all")
    prefix = None if args.all else args.prefix
    seed.delete_all_servers(rest.Session(cloud), prefix=prefix)
    seed.forget_server_sets(cloud, prefix)
    return 0


def cmd_kill(cloud, args):
    hosts.kill_host(cloud, args.host, wait_down=args.wait_down)
    return 0


def cmd_revive(cloud, args):
    hosts.revive_host(cloud, args.host, wait_up=args.wait_up)
    return 0


def cmd_reset(cloud, args):
    hosts.reset(cloud, delete_servers=args.delete_servers or args.reseed)
    if args.reseed:
        seed.seed(cloud)
    return 0


def cmd_wipe(cloud, args):
    lifecycle.wipe(cloud, keep_venv=not args.all)
    return 0


def cmd_env(cloud, args):
    if args.member:
        user, password, project = config.MEMBER_USER, config.MEMBER_PASSWORD, config.SEED_PROJECTS[0]
    else:
        user, password, project = config.ADMIN_USER, config.ADMIN_PASSWORD, config.ADMIN_PROJECT
    values = {
        "OS_AUTH_URL": cloud.auth_url, "OS_AUTH_TYPE": "password",
        "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": config.REGION,
        "OS_INTERFACE": "public", "OS_USERNAME": user, "OS_PASSWORD": password,
        "OS_PROJECT_NAME": project, "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
    }
    for k, v in values.items():
        print("export %s=%s" % (k, shlex.quote(v)))
    return 0


def cmd_short_tokens(cloud, args):
    """Run a Keystone whose tokens expire after ``--seconds`` in the foreground (until
    killed), on ``--port``; its first output line is its auth URL."""
    port = args.port or _free_port()
    svc = services.short_token_keystone(cloud, args.seconds, port)
    print("http://%s:%d/v3" % (config.HOST, port), flush=True)
    os.execve(svc.argv[0], svc.argv, svc.env)


def _free_port():
    with socket.socket() as s:
        s.bind((config.HOST, 0))
        return s.getsockname()[1]


def build_parser():
    p = argparse.ArgumentParser(prog="python3 -m evac_dashboard.localcloud",
                                description="A local OpenStack (Nova fake driver) for evac-dashboard.")
    p.add_argument("--dir", help="data directory (default: $EVAC_LOCALCLOUD_DIR or <repo>/.localcloud)")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="set up (once) and start everything; wait until ready")
    up.add_argument("--computes", type=int, help="number of compute hosts (default 3)")
    up.add_argument("--port-base", type=int,
                    help="ports are BASE+offset (default %d)" % config.DEFAULT_PORT_BASE)
    up.add_argument("--vcpus", type=int, help="vCPUs per host (default 32)")
    up.add_argument("--ram-gb", dest="ram_gb", type=int, help="RAM per host in GiB (default 128)")
    up.add_argument("--disk-gb", dest="disk_gb", type=int, help="disk per host in GB (default 2048)")
    up.add_argument("--cpu-ratio", dest="cpu_ratio", type=float, help="cpu_allocation_ratio (4.0)")
    up.add_argument("--ram-ratio", dest="ram_ratio", type=float, help="ram_allocation_ratio (1.0)")
    up.add_argument("--disk-ratio", dest="disk_ratio", type=float, help="disk_allocation_ratio (1.0)")
    up.add_argument("--reserved-ram-mb", dest="reserved_ram_mb", type=int,
                    help="reserved_host_memory_mb (512)")
    up.add_argument("--reserved-disk-mb", dest="reserved_disk_mb", type=int,
                    help="reserved_host_disk_mb (0)")
    up.add_argument("--reserved-cpus", dest="reserved_cpus", type=int, help="reserved_host_cpus (0)")
    up.add_argument("--host-size", action="append", metavar="HOST:key=val[,key=val]",
                    help="per-host override, e.g. cmp3:vcpus=16,ram_gb=64 (repeatable)")
    up.add_argument("--bmc-power-delay", dest="bmc_power_delay", type=float,
                    help="seconds a BMC power change takes to show (default 2)")
    up.add_argument("--with-masakari", dest="with_masakari", action="store_const", const=True,
                    help="also run Masakari's API and engine, segment evac-bench "
                         "(remembered; see docs/local-cloud.md)")
    up.add_argument("--without-masakari", dest="with_masakari", action="store_const",
                    const=False, help="stop running Masakari (remembered)")
    up.set_defaults(func=cmd_up)

    sub.add_parser("down", help="stop every process of the cloud").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show services and computes; exit 0 if all up").set_defaults(
        func=cmd_status)

    sd = sub.add_parser("seed", help="idempotent seed: projects, users, flavors, image, servers")
    sd.add_argument("--servers", type=int, default=12, help="number of servers (default 12)")
    sd.add_argument("--on", metavar="HOST", help="boot all servers on this host (benchmarks)")
    sd.add_argument("--prefix", help="server name prefix with --on (default 'bench')")
    sd.add_argument("--project", default="demo", help="project for --on servers (default demo)")
    sd.add_argument("--flavor", default="m1.tiny", help="flavor for --on servers (default m1.tiny)")
    sd.set_defaults(func=cmd_seed)

    ds = sub.add_parser("delete-servers", help="delete servers named PREFIX-... (or --all)")
    ds.add_argument("--prefix", help="e.g. bench (deletes bench-001, bench-002, ...)")
    ds.add_argument("--all", action="store_true", help="every server in every project")
    ds.set_defaults(func=cmd_delete_servers)

    k = sub.add_parser("kill-host", help="SIGKILL a compute host's nova-compute")
    k.add_argument("host")
    k.add_argument("--wait-down", action="store_true", help="wait until Nova reports it down")
    k.set_defaults(func=cmd_kill)

    r = sub.add_parser("revive-host", help="start a compute host's nova-compute again")
    r.add_argument("host")
    r.add_argument("--wait-up", action="store_true", help="wait for its heartbeat")
    r.set_defaults(func=cmd_revive)

    rs = sub.add_parser("reset", help="all computes running, forced_down cleared, enabled")
    rs.add_argument("--delete-servers", action="store_true", help="also delete every server")
    rs.add_argument("--reseed", action="store_true", help="delete every server and seed again")
    rs.set_defaults(func=cmd_reset)

    w = sub.add_parser("wipe", aliases=["destroy"], help="stop and delete the data dir (keeps the venv)")
    w.add_argument("--all", action="store_true", help="delete the virtualenv too")
    w.set_defaults(func=cmd_wipe)

    st = sub.add_parser("short-token-keystone",
                        help="run a second Keystone whose tokens expire soon (tests); "
                             "prints its auth URL, runs until killed")
    st.add_argument("--seconds", type=int, default=180, help="token lifetime (default 180)")
    st.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    st.set_defaults(func=cmd_short_tokens)

    e = sub.add_parser("env", help="print export OS_...= lines (admin, or --member)")
    e.add_argument("--member", action="store_true")
    e.set_defaults(func=cmd_env)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    cloud = Cloud(args.dir)
    needs_cloud = args.command not in ("up", "env", "wipe", "destroy", "down", "status")
    if needs_cloud and not cloud.exists:
        print("no local cloud in %s - run `up` first" % cloud.dir, file=sys.stderr)
        return 2
    try:
        return args.func(cloud, args)
    except CloudError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
