"""Domain events of applications that later stages act on; each is sent after its transaction commits."""

from django.dispatch import Signal

# An editor asked the municipality's signatories to submit or send back an application; sent with `application`.
signatory_asked = Signal()
