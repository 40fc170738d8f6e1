"""``{% shared "name" [value …] %}…{% endshared %}``: a part of a page that is the same for every
visitor who sees it, cached as ``SharedFragments`` (community/gallery/page_cache.py) says. The
values after the name, if any, are part of its name (``"correction-provenance" can_verify_sources``
is "correction-provenance:True" or ":False"), which the view names in ``fragment_context``."""

from __future__ import annotations

from django import template

register = template.Library()


class SharedNode(template.Node):
    def __init__(self, nodelist, name: str, vary_on: list):
        self.nodelist, self.name, self.vary_on = nodelist, name, vary_on

    def render(self, context) -> str:
        fragments = context["fragments"]
        name = self.name + "".join(f":{value.resolve(context)}" for value in self.vary_on)
        html = fragments.get(name)
        if html is None:
            html = self.nodelist.render(context)
            fragments.put(name, html)
        return html


@register.tag("shared")
def shared(parser, token) -> SharedNode:
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError(f'{bits[0]} takes a quoted name: {{% {bits[0]} "name" [value …] %}}')
    nodelist = parser.parse(("endshared",))
    parser.delete_first_token()
    return SharedNode(nodelist, bits[1][1:-1], [parser.compile_filter(bit) for bit in bits[2:]])
