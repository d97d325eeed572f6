"""The tests' helpers, shared by every test folder: the session's servers and their
credentials (``infra``), service processes and the ports they listen on (``processes``),
HTTP stand-ins and raw requests (``http``), the simulator-and-ingest path of connecting an
account (``connect``), waiting for what happens in the background (``waiting``) and fakes
of the services' clients (``fakes``). Tests import them from their modules; the pytest
fixtures stay in the root conftest.py, which builds them from these helpers."""
