"""Read listing and product pages: product links and pagination, then a product's id, category and images
from schema.org/Product JSON-LD or from CSS selectors.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from selectolax.lexbor import LexborHTMLParser

from components.data.scrape.site import ListingConfig, ProductConfig, Selector
from components.data.scrape.urls import absolute

ROLES = ("garment", "model", "unknown")


@dataclass
class ListingPage:
    """What a listing page links to."""

    product_urls: list[str] = field(default_factory=list)
    next_url: str | None = None

    def to_json(self) -> str:
        """Serialised for the crawl state, so a 304 can reuse it."""
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "ListingPage":
        """The inverse of to_json."""
        return ListingPage(**json.loads(text))


@dataclass
class ProductImage:
    """An image URL a product page shows, with the role the page hints at (classification still decides)."""

    url: str
    role: str = "unknown"


@dataclass
class ProductPage:
    """What a product page says about the product."""

    product_id: str | None = None
    category_text: str | None = None
    images: list[ProductImage] = field(default_factory=list)
    extracted_with: str = ""  # json_ld | css

    def to_json(self) -> str:
        """Serialised for the crawl state, so a 304 can reuse it."""
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "ProductPage":
        """The inverse of to_json."""
        raw = json.loads(text)
        raw["images"] = [ProductImage(**i) for i in raw.get("images", [])]
        return ProductPage(**raw)


def parse_listing(html: str, page_url: str, cfg: ListingConfig) -> ListingPage:
    """Product links (in page order, de-duplicated) and the next-page link of a listing page."""
    tree = LexborHTMLParser(html)
    out = ListingPage()
    for node in tree.css(cfg.product_links):
        url = absolute(page_url, node.attributes.get("href"))
        if url and url not in out.product_urls:
            out.product_urls.append(url)
    if cfg.next_page:
        node = tree.css_first(cfg.next_page)
        if node is not None:
            out.next_url = absolute(page_url, node.attributes.get("href"))
    return out


def _select(tree: LexborHTMLParser, sel: Selector | None) -> list[str]:
    if sel is None:
        return []
    values = []
    for node in tree.css(sel.css):
        value = node.text(strip=True) if sel.attr == "text" else node.attributes.get(sel.attr)
        if value and value.strip():
            values.append(value.strip())
    return values


def _json_ld_products(tree: LexborHTMLParser) -> list[dict]:
    """Every schema.org Product object in the page's JSON-LD blocks (top level, lists and @graph)."""
    found: list[dict] = []

    def visit(obj: object) -> None:
        if isinstance(obj, list):
            for item in obj:
                visit(item)
        elif isinstance(obj, dict):
            kind = obj.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(str(k).rsplit("/", 1)[-1] in ("Product", "ProductGroup") for k in kinds if k):
                found.append(obj)
            for key in ("@graph", "hasVariant"):
                if key in obj:
                    visit(obj[key])

    for node in tree.css('script[type="application/ld+json"]'):
        try:
            visit(json.loads(node.text() or "null"))
        except json.JSONDecodeError:
            continue  # a broken block elsewhere on the page must not hide the product
    return found


def _ld_images(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [u for item in value for u in _ld_images(item)]
    if isinstance(value, dict):  # ImageObject
        return _ld_images(value.get("contentUrl") or value.get("url"))
    return []


def _ld_category(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return " > ".join(c for c in (_ld_category(v) for v in value) if c)
    if isinstance(value, dict):
        return value.get("name")
    return None


def parse_product(html: str, page_url: str, cfg: ProductConfig) -> ProductPage:
    """Id, category text and images of a product page; JSON-LD first under `auto`, CSS selectors fill gaps."""
    tree = LexborHTMLParser(html)
    page = ProductPage()
    products = _json_ld_products(tree) if cfg.extract in ("auto", "json_ld") else []
    if products:
        ld = products[0]
        page.extracted_with = "json_ld"
        pid = ld.get("sku") or ld.get("productID") or ld.get("mpn") or ld.get("@id")
        page.product_id = str(pid) if pid else None
        page.category_text = _ld_category(ld.get("category"))
        page.images = [ProductImage(u) for u in _ld_images(ld.get("image"))]
    if cfg.extract != "json_ld":
        # CSS selectors: the whole extraction for plain HTML pages, or roles and gaps for JSON-LD pages.
        if not page.extracted_with:
            page.extracted_with = "css"
        if page.product_id is None:
            page.product_id = next(iter(_select(tree, cfg.product_id)), None)
        if page.category_text is None:
            page.category_text = next(iter(_select(tree, cfg.category)), None)
        hinted = [ProductImage(u, "garment") for u in _select(tree, cfg.garment_images)]
        hinted += [ProductImage(u, "model") for u in _select(tree, cfg.model_images)]
        hinted += [ProductImage(u) for u in _select(tree, cfg.images)]
        roles = {absolute(page_url, i.url): i.role for i in hinted}
        for img in page.images:  # JSON-LD lists images without roles; CSS may know them
            img.role = roles.get(absolute(page_url, img.url), img.role)
        page.images += hinted
    seen: set[str] = set()
    images = []
    for img in page.images:
        url = absolute(page_url, img.url)
        if url and url not in seen:
            seen.add(url)
            images.append(ProductImage(url, img.role))
    page.images = images
    return page
