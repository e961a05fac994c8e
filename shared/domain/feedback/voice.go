package feedback

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Testimonial is a comment a customer agreed to publish, with nothing that
// identifies them: no name, no contact, only an age band, gender and rank.
type Testimonial struct {
	ID      string    `json:"id"`
	Text    string    `json:"text"`
	Rating  int       `json:"rating,omitempty"`
	Profile string    `json:"profile"` // e.g. "30代・女性・リピーター"
	At      time.Time `json:"at"`
}

// Profile describes a customer as a shop may print it beside their words:
// age band at the time of the comment, gender and rank, each left out when
// unknown ("30代・女性・リピーター", "リピーター").
func Profile(c *customer.Customer, rankLabel string, at time.Time) string {
	var parts []string
	if band := AgeBand(c.Birthday, at); band != "" {
		parts = append(parts, band)
	}
	switch c.Gender {
	case customer.Female:
		parts = append(parts, "女性")
	case customer.Male:
		parts = append(parts, "男性")
	}
	if rankLabel != "" {
		parts = append(parts, rankLabel)
	}
	if len(parts) == 0 {
		return "お客様"
	}
	return strings.Join(parts, "・")
}

// AgeBand is the decade of life on a date ("30代"), or "" when the birth year is unknown.
func AgeBand(birthday string, on time.Time) string {
	born, err := time.Parse(time.DateOnly, birthday)
	if err != nil {
		return ""
	}
	age := on.Year() - born.Year()
	if on.YearDay() < born.YearDay() {
		age--
	}
	if age < 10 || age > 120 {
		return "" // a typo in the ledger, or a child: say nothing
	}
	return strconv.Itoa(age/10*10) + "代"
}

// WriteMarkdown writes testimonials as a shop's web page or flyer would
// quote them. Customers' words are text, never markup: HTML and Markdown
// syntax in them is escaped, so a comment cannot become a script or a
// javascript: link on the shop's page.
func WriteMarkdown(w io.Writer, shop string, ts []Testimonial) error {
	title := "お客様の声"
	if shop != "" {
		title = MarkdownText(shop) + " " + title
	}
	if _, err := fmt.Fprintf(w, "# %s\n\n", title); err != nil {
		return err
	}
	if len(ts) == 0 {
		_, err := fmt.Fprintln(w, "（掲載の許可をいただいたお声はまだありません）")
		return err
	}
	for _, t := range ts {
		var b strings.Builder
		for _, line := range strings.Split(strings.TrimSpace(t.Text), "\n") {
			b.WriteString("> " + MarkdownText(strings.TrimRight(line, "\r")) + "\n")
		}
		meta := MarkdownText(t.Profile)
		if t.Rating > 0 {
			meta = Stars(t.Rating) + " " + meta
		}
		if _, err := fmt.Fprintf(w, "%s>\n> — %s（%s）\n\n", b.String(), meta, t.At.In(customer.DefaultLocation()).Format("2006年1月")); err != nil {
			return err
		}
	}
	return nil
}

// markdownEscaper turns HTML into entities and backslash-escapes the
// characters Markdown gives meaning to (links, images, emphasis, code,
// headings, tables), so the text renders as written.
var markdownEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"#", `\#`, "!", `\!`, "|", `\|`, "~", `\~`,
)

// MarkdownText escapes one line of text for Markdown. A leading "-", "+" or
// "1." would start a list, and is escaped too.
func MarkdownText(s string) string {
	s = markdownEscaper.Replace(s)
	trimmed := strings.TrimLeft(s, " ")
	lead := s[:len(s)-len(trimmed)]
	switch {
	case strings.HasPrefix(trimmed, "-"), strings.HasPrefix(trimmed, "+"), strings.HasPrefix(trimmed, "="):
		return lead + `\` + trimmed
	}
	if i := strings.IndexFunc(trimmed, func(r rune) bool { return r < '0' || r > '9' }); i > 0 && trimmed[i] == '.' {
		return lead + trimmed[:i] + `\.` + trimmed[i+1:]
	}
	return s
}

// WriteCSV writes testimonials as a spreadsheet, newest first, with a header
// row. No cell runs as a formula in Excel or Google Sheets (see SpreadsheetCell).
func WriteCSV(w io.Writer, ts []Testimonial) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "date", "profile", "rating", "comment"})
	for _, t := range ts {
		rating := ""
		if t.Rating > 0 {
			rating = strconv.Itoa(t.Rating)
		}
		_ = cw.Write([]string{SpreadsheetCell(t.ID), t.At.In(customer.DefaultLocation()).Format(time.DateOnly), SpreadsheetCell(t.Profile), rating, SpreadsheetCell(t.Text)})
	}
	cw.Flush()
	return cw.Error()
}

// SpreadsheetCell keeps a value from running as a formula: a cell starting
// with = + - @, a tab or a carriage return is one in Excel and Google Sheets
// (=HYPERLINK(…) turns a comment into a link, =IMPORTXML(…) into a request),
// so it gets a leading apostrophe, which both show as text.
func SpreadsheetCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
