"""``manage.py evac_prune_audit``: apply the audit log's retention (EVAC_AUDIT_RETENTION_DAYS).

Deletes history records, and the dashboard's copies of Nova's evacuation migrations, older
than the retention (default 365 days; 0 or None keeps everything). Meant for cron; the
dashboard's pages never delete a record.
"""
from django.core.management.base import BaseCommand, CommandError

from evac_dashboard.store import history


class Command(BaseCommand):
    help = "Delete evacuation history records older than EVAC_AUDIT_RETENTION_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help="override the setting (days to keep, at least 1)")
        parser.add_argument("--dry-run", action="store_true",
                            help="only say how many records would be deleted")

    def handle(self, *args, days=None, dry_run=False, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        try:
            keep = days if days is not None else history.retention_days()
        except ValueError as error:
            raise CommandError(str(error))
        if not keep:
            self.stdout.write("EVAC_AUDIT_RETENTION_DAYS keeps records forever: nothing "
                              "deleted.")
            return
        records, migrations = history.prune(days=keep, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write("%s %d history record(s) and %d copied Nova migration(s) older "
                          "than %d days." % (verb.capitalize(), records, migrations, keep))
