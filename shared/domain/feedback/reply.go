package feedback

import (
	"regexp"
	"strings"
)

// quoteHeader matches the line mail clients put above the quoted message:
// "On Mon, 23 Nov 2026 at 10:00, Shop <…> wrote:", "2026年11月23日(月) 10:00 Shop <…>:",
// "-----Original Message-----", Outlook's "From: …" block.
var quoteHeader = regexp.MustCompile(`(?i)^(on .+wrote:?|\d{4}[年/-]\d{1,2}[月/-]\d{1,2}.*[:：]|-+ ?original message ?-+|-+ ?元のメッセージ ?-+|from: .+|差出人: .+)\s*$`)

// StripQuoted keeps what the customer wrote in an email reply: the text above
// the quoted message and without "> " lines, trimmed.
func StripQuoted(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var kept []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if quoteHeader.MatchString(t) {
			break
		}
		if strings.HasPrefix(t, ">") {
			continue
		}
		kept = append(kept, strings.TrimRight(line, " \t"))
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}
