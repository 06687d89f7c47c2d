"""Domain events of realisation that later stages act on; each is sent after its transaction commits."""

from django.dispatch import Signal

# A progress report was submitted; sent with `report`, the submitted ProgressReport.
progress_reported = Signal()

# A settlement was confirmed; sent with `settlement`.
settlement_confirmed = Signal()
