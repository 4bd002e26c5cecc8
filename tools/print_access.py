"""Print where the dashboard runs and who can log in (from the local cloud's cloud.json)."""
import argparse
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000/")
    args = parser.parse_args()
    cloud_dir = os.environ.get("EVAC_LOCALCLOUD_DIR", os.path.join(REPO, ".localcloud"))
    try:
        with open(os.path.join(cloud_dir, "cloud.json"), encoding="utf-8") as handle:
            cloud = json.load(handle)
    except (OSError, ValueError):
        cloud = {}
    print("")
    print("evac-dashboard: %s   (Admin > Evacuation > Compute Hosts)" % args.url)
    for role in ("admin", "member"):
        user = cloud.get(role) or {}
        if user:
            print("  %-6s user: %s  password: %s  project: %s" % (
                role, user.get("username"), user.get("password"), user.get("project_name")))
    if cloud.get("auth_url"):
        print("  Keystone: %s" % cloud["auth_url"])
    print("")


if __name__ == "__main__":
    main()
