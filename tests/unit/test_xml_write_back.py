"""Writing an XML document back keeps what its nodes do not hold: comments and processing
instructions, the order of sibling elements, text between children, line breaks."""

from __future__ import annotations

import difflib

from realnet.providers.documents.codecs import XmlCodec

CODEC = XmlCodec()


def edit(original: str, change, *, encoding: str = "utf-8") -> str:
    data = original.encode(encoding)
    document = CODEC.load(data, "f.xml")
    change(document["node"])
    return CODEC.dump(document, data).decode("utf-8")


def changes(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
    return [line for line in list(diff)[2:] if not line.startswith("@@")]


PAGE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE settings>
<!-- header -->
<?app-version 3?>
<settings>
  <!-- first -->
  <a>1</a>
  <b>2</b><!-- same line -->
  <a>3</a>
  <?marker here?>
  <c>
    <d>4</d>
  </c>
</settings>
<!-- trailer -->
"""


def test_nothing_changed_is_written_as_it_was():
    assert edit(PAGE, lambda node: None) == PAGE


def test_a_changed_value_changes_its_line_only():
    def change(node):
        node["c"]["d"] = "5"

    assert changes(PAGE, edit(PAGE, change)) == ["-    <d>4</d>", "+    <d>5</d>"]


def test_a_removed_element_takes_its_line_and_the_rest_stays_in_order():
    def change(node):
        node["a"] = ["1"]  # the second <a> goes

    assert changes(PAGE, edit(PAGE, change)) == ["-  <a>3</a>"]


def test_the_last_child_removed_leaves_the_closing_tag_where_it_was():
    def change(node):
        del node["c"]

    after = edit(PAGE, change)
    assert changes(PAGE, after) == ["-  <c>", "-    <d>4</d>", "-  </c>"]


def test_added_elements_follow_their_like_named_siblings_or_come_last():
    def change(node):
        node["a"].append("6")
        node["e"] = {"f": "7"}

    assert changes(PAGE, edit(PAGE, change)) == [
        "+  <a>6</a>", "+  <e>", "+    <f>7</f>", "+  </e>"]
    assert edit(PAGE, change).index("<a>6</a>") < edit(PAGE, change).index("<?marker")


def test_children_given_to_an_empty_element_are_indented_like_the_file():
    original = "<r>\n    <empty/>\n    <x>1</x>\n</r>\n"

    def change(node):
        node["empty"] = {"inner": "v"}

    assert edit(original, change) == "<r>\n    <empty>\n        <inner>v</inner>\n    </empty>\n    <x>1</x>\n</r>\n"


def test_a_file_on_one_line_stays_on_one_line():
    original = "<r><a>1</a><!-- c --><b>2</b></r>\n"

    def change(node):
        node["b"] = "3"
        node["z"] = "4"

    assert edit(original, change) == "<r><a>1</a><!-- c --><b>3</b><z>4</z></r>\n"


def test_text_between_children_stays_where_it_was_unless_it_changed():
    original = "<r>\n  <note>see <ref>r1</ref> and <ref>r2</ref> too</note>\n  <n>1</n>\n</r>\n"

    def other(node):
        node["n"] = "2"

    assert changes(original, edit(original, other)) == ["-  <n>1</n>", "+  <n>2</n>"]

    def own(node):
        node["note"]["#text"] = "new words"

    note = edit(original, own).splitlines()[1]
    assert note.startswith("  <note>new words<ref>r1</ref>") and "too" not in note


def test_a_document_in_another_encoding_keeps_what_is_inside_its_root():
    original = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<!-- café -->\n<r>\n  <!-- inné -->\n  <a>é</a>\n</r>\n'

    def change(node):
        node["a"] = "è"

    after = edit(original, change, encoding="iso-8859-1")
    assert after == '<?xml version="1.0" encoding="UTF-8"?>\n<r>\n  <!-- inné -->\n  <a>è</a>\n</r>\n'


def test_a_changed_root_name_is_written_fresh():
    data = b"<old>\n  <!-- c -->\n  <a>1</a>\n</old>\n"
    document = CODEC.load(data, "f.xml")
    document["tag"] = "new"
    assert CODEC.dump(document, data).decode() == "<new>\n  <a>1</a>\n</new>\n"


def test_a_removed_element_among_like_named_ones_takes_what_is_inside_it():
    original = ("<r>\n  <server>\n    <!-- the old one -->\n    <ip>1</ip>\n  </server>\n"
                "  <server>\n    <!-- the main one -->\n    <ip>2</ip>\n  </server>\n"
                "  <server>\n    <ip>3</ip>\n  </server>\n</r>\n")

    def change(node):
        del node["server"][0]
        node["server"][1]["ip"] = "4"  # and the last one changes

    assert edit(original, change) == ("<r>\n  <server>\n    <!-- the main one -->\n    <ip>2</ip>\n  </server>\n"
                                      "  <server>\n    <ip>4</ip>\n  </server>\n</r>\n")
