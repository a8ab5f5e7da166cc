"""gankit studio: a local web app over a runs directory, and a live 2D GAN lab (``gankit studio RUNS_DIR``).

Pages (:mod:`gankit.studio.pages` registers them): Lab (a 2D GAN trained live,
:mod:`gankit.studio.lab`), Runs (every run under RUNS_DIR, :mod:`gankit.studio.runs`), Sample,
Interpolate, Edit and Restore (:mod:`.interpolate_page`, :mod:`.edit_page`, :mod:`.restore_page`, over
:mod:`gankit.edit` and :mod:`gankit.restore`; :mod:`.capabilities` says which runs each can use). The server is Starlette on uvicorn (the ``studio`` extra); the pages are plain HTML,
CSS and JavaScript shipped in ``static/`` and fetch nothing from outside the server.
"""

from __future__ import annotations

STUDIO_PACKAGES = ("starlette", "uvicorn")


def create_app(*args, **kwargs):
    """See :func:`gankit.studio.app.create_app`."""
    from gankit.studio.app import create_app as create

    return create(*args, **kwargs)
