"""Domain events of realisation that later stages act on; each is sent after its transaction commits."""

from django.dispatch import Signal

# A progress report was submitted; sent with `report`, the submitted ProgressReport.
progress_reported = Signal()

# A settlement was confirmed; sent with `settlement`.
settlement_confirmed = Signal()

# A financial officer certified an accountability report (SiSa); sent with `report`, the AccountabilityReport.
accountability_certified = Signal()

# A reclaim was paid back in full; sent with `reclaim`, the paid Reclaim.
reclaim_paid = Signal()
