package monthly

import (
	"fmt"
	"html"
	"strings"

	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// Summary is the owner's email about a month: how many rows were measured,
// the three biggest lifts and the three biggest drops, and where the whole
// report is. Japanese first, a line of English after. It holds aggregates
// only: no customer is named in it.
func Summary(rep *report.Report, shop, link string, label func(string) string) *render.Email {
	if label == nil {
		label = func(r string) string { return r }
	}
	month := monthJA(rep.Month)
	measured := 0
	for _, l := range rep.Rows {
		if l.Lift != nil {
			measured++
		}
	}
	var ups, downs []report.Line
	for _, l := range report.Highlights(rep, 3) {
		if l.Verdict == report.Better {
			ups = append(ups, l)
		} else {
			downs = append(downs, l)
		}
	}

	var b strings.Builder
	if shop != "" {
		fmt.Fprintf(&b, "%s ご担当者様\n\n", shop)
	}
	fmt.Fprintf(&b, "%sの効果レポートができました。\n", month)
	fmt.Fprintf(&b, "集計した行: %d（うち holdout と比べられた行: %d）\n", len(rep.Rows), measured)
	switch {
	case len(rep.Rows) == 0:
		b.WriteString("\nこの月に計測した配信はありません。\n")
	case len(ups)+len(downs) == 0:
		b.WriteString("\nはっきりした差はまだ出ていません（" + report.Undecided + "）。" +
			"対象のお客様が増えると、届けた方と届けなかった方の差が判断できるようになります。\n")
	}
	section := func(title string, lines []report.Line) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n■ %s\n", title)
		for i, l := range lines {
			fmt.Fprintf(&b, "%d. %s\n   %s\n", i+1, describe(l, label), liftJA(l))
		}
	}
	section("効果が大きかったもの", ups)
	section("逆効果の可能性があるもの", downs)
	if link != "" {
		fmt.Fprintf(&b, "\nレポート全文（グラフと全行）: %s\n", link)
	}
	fmt.Fprintf(&b, "\n--\nThe %s report is ready: %d rows, %d compared with a holdout; %d clear lifts, %d clear drops.",
		rep.Month, len(rep.Rows), measured, len(ups), len(downs))
	if link != "" {
		fmt.Fprintf(&b, " Full report: %s", link)
	}
	b.WriteString("\nこのメールは集計値のみで、お客様の個人情報は含みません。daifuku\n")
	text := b.String()

	subject := month + "の効果レポート"
	if shop != "" {
		subject = "【" + shop + "】" + subject
	}
	return &render.Email{Subject: subject, Text: text, HTML: htmlOf(text, link)}
}

// describe names a row as the owner reads it: rank, kind, plan and version,
// step and variant.
func describe(l report.Line, label func(string) string) string {
	parts := []string{label(l.Rank), l.Kind.Label()}
	if l.Plan != "" {
		parts = append(parts, fmt.Sprintf("プラン %s v%d", l.Plan, l.PlanVersion))
	}
	if l.Step != "" {
		parts = append(parts, "ステップ "+l.Step)
	}
	if l.Variant != "" {
		parts = append(parts, "バリアント "+l.Variant)
	}
	return strings.Join(parts, " / ")
}

// liftJA is a row's lift in repurchase points with its 95% interval.
func liftJA(l report.Line) string {
	if l.Lift == nil {
		return ""
	}
	return fmt.Sprintf("再購入率 %+.1f ポイント（95%%信頼区間 %+.1f〜%+.1f）: 届けた方 %.1f%%（%d人）、届けなかった方 %.1f%%（%d人）",
		100*l.Lift.Abs, 100*l.Lift.Low, 100*l.Lift.High, 100*l.Treated.Rate, l.Treated.N, 100*l.Holdout.Rate, l.Holdout.N)
}

// monthJA is "2026-11" as 2026年11月.
func monthJA(m string) string {
	y, mo, ok := strings.Cut(m, "-")
	if !ok {
		return m
	}
	return y + "年" + strings.TrimPrefix(mo, "0") + "月"
}

// htmlOf is the text as simple HTML, the link clickable.
func htmlOf(text, link string) string {
	body := html.EscapeString(text)
	if link != "" {
		esc := html.EscapeString(link)
		body = strings.ReplaceAll(body, esc, `<a href="`+esc+`">`+esc+`</a>`)
	}
	return `<div style="white-space:pre-wrap;font-family:sans-serif;line-height:1.6">` + body + "</div>"
}
