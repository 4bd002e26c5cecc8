"""Print EVAC_TEST_DB_* settings for the local cloud's MariaDB (from cloud.json), one per line.

Used by `make integration` to run the plugin's model tests on MariaDB as well as sqlite.
"""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    cloud_dir = os.environ.get("EVAC_LOCALCLOUD_DIR", os.path.join(REPO, ".localcloud"))
    with open(os.path.join(cloud_dir, "cloud.json"), encoding="utf-8") as handle:
        db = json.load(handle)["dashboard_db"]
    values = {"EVAC_TEST_DATABASE": "mysql", "EVAC_TEST_DB_HOST": db["host"],
              "EVAC_TEST_DB_PORT": db["port"], "EVAC_TEST_DB_NAME": db["name"],
              "EVAC_TEST_DB_USER": db["user"], "EVAC_TEST_DB_PASSWORD": db["password"]}
    sys.stdout.write("\n".join("%s=%s" % item for item in values.items()) + "\n")


if __name__ == "__main__":
    main()
