"""The studio's pages, registered by name; the navigation bar and the routes are built from this registry.

A page is an HTML file in ``static/`` and the API routes it calls. Adding a page (Interpolate,
Edit, Restore, ...) is one module that calls :func:`register_page`, and one HTML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from gankit.registry import Registry


@dataclass(frozen=True)
class Page:
    """Attributes:
        name: the page's URL path, ``/NAME``.
        title: its title in the navigation bar.
        html: its file in ``gankit/studio/static/``.
        order: its place in the navigation bar, left to right.
        routes: a function of the :class:`~gankit.studio.app.Studio` returning the page's API routes
            (Starlette ``Route`` objects under ``/api/NAME/``).
    """

    name: str
    title: str
    html: str
    order: int
    routes: Callable = field(default=lambda studio: [])


PAGES: Registry[Page] = Registry("studio page")


def register_page(page: Page) -> Page:
    return PAGES.register(page.name)(page)


def ordered_pages() -> list[Page]:
    return sorted((PAGES.get(name) for name in PAGES), key=lambda page: page.order)
