"""The headquarters server: FastAPI app (``hq.app``), its core (``hq.service``), its own
storage and migrations (``hq.models``, ``hq.store``), running it (``hq.server``) and the
admin command line (``hq.cli``)."""
