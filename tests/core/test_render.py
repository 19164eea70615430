"""Jinja rendering: sandboxed, leaf by leaf, with lava's ``utils`` helpers."""

from __future__ import annotations

import jinja2.exceptions
import pytest

from lava_core.errors import LavaError
from lava_core.render import RenderError, _compile, render_obj, render_str, utils


def test_plain_strings_take_the_fast_path():
    before = _compile.cache_info()
    text = "no template here: 100% plain } ]"
    assert render_str(text, {}) is text
    after = _compile.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)  # never compiled


def test_templates_render_with_variables():
    assert render_str("{{ a }}-{{ b.c }}", {"a": 1, "b": {"c": "x"}}) == "1-x"
    assert render_str("{% for i in xs %}{{ i }},{% endfor %}", {"xs": [1, 2]}) == "1,2,"


def test_braces_that_are_not_jinja_render_unchanged():
    assert render_str('{"a": 1}', {}) == '{"a": 1}'


def test_undefined_variables_render_empty():
    assert render_str("[{{ missing }}]", {}) == "[]"
    assert render_str("[{{ d.missing }}]", {"d": {}}) == "[]"


def test_attribute_of_undefined_is_an_error_naming_the_field():
    with pytest.raises(RenderError, match=r"^payload: UndefinedError: ") as info:
        render_str("{{ d.x.y }}", {"d": {}}, where="payload")
    assert isinstance(info.value.__cause__, jinja2.exceptions.UndefinedError)


def test_sandbox_blocks_python_internals():
    with pytest.raises(RenderError, match=r"^template: SecurityError: .*__class__") as info:
        render_str("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    assert isinstance(info.value.__cause__, jinja2.exceptions.SecurityError)
    assert isinstance(info.value, LavaError)


def test_sandbox_refuses_unsafe_attributes_even_unused():
    # The stock sandbox renders a lone unsafe attribute as a blank; ours names it.
    for template in ("{{ f.__globals__ }}", "{{ f.__globals__['os'] }}"):
        with pytest.raises(RenderError, match=r"SecurityError: access to attribute '__globals__' of 'function'"):
            render_str(template, {"f": render_str})


def test_syntax_error_names_the_field():
    with pytest.raises(RenderError, match=r"^parameters\.args\[0\]: TemplateSyntaxError: "):
        render_str("{% if %}", {}, where="parameters.args[0]")


def test_render_obj_keeps_non_string_leaves():
    value = {"n": 3, "f": 2.5, "on": False, "none": None, "xs": [1, True, "{{ v }}"], "deep": {"s": "v={{ v }}"}}
    out = render_obj(value, {"v": "X"})
    assert out == {"n": 3, "f": 2.5, "on": False, "none": None, "xs": [1, True, "X"], "deep": {"s": "v=X"}}
    assert out["n"] is not True and type(out["n"]) is int
    assert type(out["on"]) is bool
    assert value["xs"][2] == "{{ v }}"  # input untouched


def test_render_obj_values_with_quotes_do_not_break_structure():
    # lava renders maps by dumping them to JSON first, so a quote in a value breaks them.
    tricky = 'he said "hi" \\ {not jinja} \n next'
    out = render_obj({"msg": "{{ q }}", "list": ["{{ q }}"]}, {"q": tricky})
    assert out == {"msg": tricky, "list": [tricky]}


def test_render_obj_error_path_names_the_leaf():
    with pytest.raises(RenderError, match=r"^event_log\.items\[1\]: TemplateSyntaxError"):
        render_obj({"items": ["ok", "{{ bad"]}, {}, where="event_log")


def test_render_obj_keys_are_not_rendered():
    assert render_obj({"{{ k }}": "{{ k }}"}, {"k": "v"}) == {"{{ k }}": "v"}


@pytest.mark.parametrize(("uri", "bucket", "key"), [
    ("s3://bkt/a/b.csv", "bkt", "a/b.csv"),
    ("s3:bkt/a/b.csv", "bkt", "a/b.csv"),
    ("/bkt/a/b.csv", "bkt", "a/b.csv"),
    ("bkt/a", "bkt", "a"),
    ("s3://bkt", "bkt", ""),
    ("s3://bkt/", "bkt", ""),
])
def test_utils_s3bucket_s3key(uri, bucket, key):
    assert utils.s3bucket(uri) == bucket
    assert utils.s3key(uri) == key


def test_utils_in_templates():
    variables = {"utils": utils, "uri": "s3://data-lake/in/2025/file.csv"}
    assert render_str("{{ utils.s3bucket(uri) }}|{{ utils.s3key(uri) }}", variables) == "data-lake|in/2025/file.csv"
    assert render_str("{{ utils.path.basename(utils.s3key(uri)) }}", variables) == "file.csv"
    assert render_str("{{ utils.re.sub('\\\\d+', 'N', 'a1b22') }}", variables) == "aNbN"
    assert render_str("{{ utils.datetime(2025, 3, 1).strftime('%Y%m%d') }}", variables) == "20250301"
    assert len(render_str("{{ utils.uuid() }}", variables)) == 36


def test_split_words_keeps_templates_whole():
    from lava_core.render import split_words

    assert split_words("run.sh {{ globals.a b }} 'x y' --n={{ n }}") == ["run.sh", "{{ globals.a b }}", "x y",
                                                                           "--n={{ n }}"]
