"""Domain events of applications that higher layers act on; each is sent after its transaction commits."""

from django.dispatch import Signal

# A progress report was submitted; sent with `report`, the submitted ProgressReport.
progress_reported = Signal()
