#include "base/markdown.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>

#include <memory>
#include <mutex>

#include "base/html.h"

namespace triage {
namespace {

size_t Utf8Length(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  if (lead >= 0xE0) return lead <= 0xEF ? 3 : 0;
  if (lead >= 0xC2) return 2;
  return 0;
}

bool DecodeUtf8(std::string_view s, char32_t* cp) {
  const size_t len = Utf8Length(static_cast<unsigned char>(s[0]));
  if (len == 0 || s.size() < len) return false;
  char32_t v = static_cast<unsigned char>(s[0]) & (0xFF >> (len + 1));
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[k]);
    if ((b & 0xC0) != 0x80) return false;
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return true;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Punctuation and symbols GitHub drops from anchors, by block: Latin-1
// punctuation, general punctuation (dashes, quotes), arrows, mathematical and
// technical symbols, shapes, dingbats, CJK punctuation, variation selectors,
// emoji. Letters and digits of any script are kept.
bool IsSymbol(char32_t cp) {
  return (cp >= 0xA0 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
         (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x20A0 && cp <= 0x20CF) ||
         (cp >= 0x2100 && cp <= 0x214F) || (cp >= 0x2190 && cp <= 0x2BFF) ||
         (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
         (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0x1F000 && cp <= 0x1FAFF);
}

// Lower case for the Latin-1, Greek and Cyrillic capitals; other letters are
// kept as they are.
char32_t ToLower(char32_t cp) {
  if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) ||
      (cp >= 0x410 && cp <= 0x42F)) {
    return cp + 0x20;
  }
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
  return cp;
}

// The plain text of a node's inline content, as a browser would show it.
void AppendPlainText(cmark_node* node, std::string& out) {
  for (cmark_node* child = cmark_node_first_child(node); child != nullptr;
       child = cmark_node_next(child)) {
    switch (cmark_node_get_type(child)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE: {
        const char* literal = cmark_node_get_literal(child);
        if (literal != nullptr) out += literal;
        break;
      }
      case CMARK_NODE_SOFTBREAK:
      case CMARK_NODE_LINEBREAK:
        out += ' ';
        break;
      case CMARK_NODE_HTML_INLINE:
      case CMARK_NODE_IMAGE:
        break;  // tags and images show no text of their own
      default:
        AppendPlainText(child, out);  // emphasis, links, strikethrough, ...
        break;
    }
  }
}

// The text of the first paragraph inside a block quote.
std::string QuoteText(cmark_node* quote) {
  std::string text;
  for (cmark_node* child = cmark_node_first_child(quote); child != nullptr;
       child = cmark_node_next(child)) {
    if (cmark_node_get_type(child) == CMARK_NODE_PARAGRAPH) {
      AppendPlainText(child, text);
      break;
    }
  }
  return text;
}

struct ParserDeleter {
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};
struct NodeDeleter {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};

// A parsed document with the parser that made it: the HTML renderer needs
// the parser's extensions to render tables and strikethrough.
struct Parsed {
  std::unique_ptr<cmark_parser, ParserDeleter> parser;
  std::unique_ptr<cmark_node, NodeDeleter> doc;
};

// CommonMark with GitHub's table, strikethrough and autolink extensions;
// both the anchors and the HTML come from this one parse.
Parsed Parse(std::string_view markdown) {
  static std::once_flag registered;
  std::call_once(registered, [] { cmark_gfm_core_extensions_ensure_registered(); });
  Parsed p;
  p.parser.reset(cmark_parser_new(CMARK_OPT_DEFAULT));
  for (const char* name : {"table", "strikethrough", "autolink"}) {
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(p.parser.get(), ext);
    }
  }
  cmark_parser_feed(p.parser.get(), markdown.data(), markdown.size());
  p.doc.reset(cmark_parser_finish(p.parser.get()));
  return p;
}

// Every heading of a parsed document, in document order. Headings are
// blocks; GitHub numbers anchors over all of them, including those nested in
// lists or quotes, so the whole tree is walked.
std::vector<MarkdownHeading> Headings(cmark_node* doc) {
  std::vector<MarkdownHeading> out;
  AnchorNumbering numbering;
  cmark_iter* iter = cmark_iter_new(doc);
  for (cmark_event_type ev = cmark_iter_next(iter); ev != CMARK_EVENT_DONE;
       ev = cmark_iter_next(iter)) {
    cmark_node* node = cmark_iter_get_node(iter);
    if (ev != CMARK_EVENT_ENTER || cmark_node_get_type(node) != CMARK_NODE_HEADING) continue;
    MarkdownHeading h;
    h.level = cmark_node_get_heading_level(node);
    AppendPlainText(node, h.text);
    h.anchor = numbering.Next(h.text);
    h.line = cmark_node_get_start_line(node);
    cmark_node* next = cmark_node_next(node);
    if (next != nullptr && cmark_node_get_type(next) == CMARK_NODE_BLOCK_QUOTE) {
      h.informational = QuoteText(next).rfind("Informational", 0) == 0;
    }
    out.push_back(std::move(h));
  }
  cmark_iter_free(iter);
  return out;
}

}  // namespace

std::string GithubSlug(std::string_view heading_text) {
  std::string out;
  size_t i = 0;
  while (i < heading_text.size()) {
    const auto c = static_cast<unsigned char>(heading_text[i]);
    if (c < 0x80) {
      ++i;
      if (c >= 'A' && c <= 'Z') {
        out += static_cast<char>(c - 'A' + 'a');
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
        out += static_cast<char>(c);
      } else if (c == ' ') {
        out += '-';
      }
      continue;
    }
    const size_t len = Utf8Length(c);
    char32_t cp = 0;
    if (len == 0 || !DecodeUtf8(heading_text.substr(i, len), &cp)) {
      ++i;  // a stray byte: dropped
      continue;
    }
    i += len;
    if (IsSymbol(cp)) continue;
    AppendUtf8(ToLower(cp), out);
  }
  return out;
}

std::string AnchorNumbering::Next(std::string_view heading_text) {
  const std::string base = GithubSlug(heading_text);
  std::string slug = base;
  while (seen_.count(slug) != 0) {
    const int n = ++seen_[base];
    slug = base + "-" + std::to_string(n);
  }
  seen_.emplace(slug, 0);
  return slug;
}

std::vector<MarkdownHeading> ReadMarkdownHeadings(std::string_view markdown) {
  const Parsed p = Parse(markdown);
  return Headings(p.doc.get());
}

RenderedMarkdown RenderMarkdown(std::string_view markdown) {
  const Parsed p = Parse(markdown);
  RenderedMarkdown out;
  out.headings = Headings(p.doc.get());
  // No CMARK_OPT_UNSAFE: raw HTML and dangerous link schemes are not passed
  // through, so the only <hN> tags of the output are the headings, in
  // document order, and code or text can never produce one (it is escaped).
  char* raw = cmark_render_html(p.doc.get(), CMARK_OPT_DEFAULT,
                                cmark_parser_get_syntax_extensions(p.parser.get()));
  const std::string_view html(raw != nullptr ? raw : "");
  out.html.reserve(html.size() + out.headings.size() * 48);
  size_t pos = 0;
  for (const auto& h : out.headings) {
    const std::string open = "<h" + std::to_string(h.level) + ">";
    const std::string close = "</h" + std::to_string(h.level) + ">";
    const size_t at = html.find(open, pos);
    if (at == std::string_view::npos) break;  // cannot happen: one tag per heading node
    out.html.append(html.substr(pos, at - pos));
    out.html += "<h" + std::to_string(h.level) + " id=\"";
    out.html += HtmlEscape(h.anchor);
    out.html += "\">";
    pos = at + open.size();
    size_t end = html.find(close, pos);
    end = end == std::string_view::npos ? html.size() : end + close.size();
    if (end < html.size() && html[end] == '\n') ++end;
    out.html.append(html.substr(pos, end - pos));
    out.heading_end.push_back(out.html.size());
    pos = end;
  }
  out.html.append(html.substr(pos));
  if (raw != nullptr) cmark_get_default_mem_allocator()->free(raw);
  return out;
}

}  // namespace triage
