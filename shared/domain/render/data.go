package render

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/osteele/liquid"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Shop is the sender's identity, from templates/shop.yaml.
type Shop struct {
	Name         string `yaml:"name"`
	URL          string `yaml:"url"`
	SupportEmail string `yaml:"support_email"`
	FromEmail    string `yaml:"from_email"`
	FromName     string `yaml:"from_name"`
	// ReplyDomain is the SendGrid Inbound Parse domain: an email's Reply-To
	// becomes reply+<token>@ReplyDomain, so a reply finds the message it
	// answers. "" sends replies to SupportEmail.
	ReplyDomain string `yaml:"reply_domain"`
	// The sender as Japan's anti-spam law (特定電子メール法) asks every
	// advertising email to name it: legal name, postal address, and a phone
	// (with SupportEmail, the contact for complaints).
	LegalName     string `yaml:"legal_name"`
	PostalAddress string `yaml:"postal_address"`
	Phone         string `yaml:"phone"`
}

// Data is everything a template may say. Every variable is always defined
// (strict variables catch typos), possibly as an empty string.
type Data struct {
	Customer  *customer.Customer
	RankID    string
	RankLabel string
	Order     *customer.Order
	Shop      Shop
	// Coupon is an optional gift code (birthdays, surprises).
	Coupon Coupon
	// Unsubscribe is the one-click opt-out link of non-transactional email; "" otherwise.
	Unsubscribe string
	// Preferences is the link to the customer's preference page (配信設定),
	// in every email; "" on LINE.
	Preferences string
	// Ratings are the links of a feedback request, one per rating (email only).
	Ratings []RatingLink
	// Voices are the comments customers agreed to publish, newest first, at
	// most MaxVoices, without their names: the only customer words a
	// template may quote. Empty when there are none: templates say so, and
	// quote nobody.
	Voices []Voice
}

// MaxVoices is how many comments a message may quote at most, and
// MaxVoiceRunes how long a quote may be: a comment may be thousands of
// characters, and quoting it whole would break LINE's 5,000.
const (
	MaxVoices     = 5
	MaxVoiceRunes = 140
)

// Voice is one published comment, as a template may quote it.
type Voice struct {
	Text    string
	Profile string // e.g. "30代・女性・リピーター": never a name
	Rating  int    // 0 when not given
	Date    string // e.g. "2026年11月"
}

// RatingLink is the link a customer follows to give a rating.
type RatingLink struct {
	Value int
	Label string // e.g. "5 とても満足"
	Stars string // e.g. "★★★★★"
	URL   string
}

// Coupon is a gift code and what it is for.
type Coupon struct {
	Code string `yaml:"code"`
	Note string `yaml:"note"`
}

func noEscape(s string) string { return s }

// jsonEscape makes a value safe inside a JSON string literal.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// bindings builds the Liquid variables, passing every string through esc so
// that customer-supplied text cannot break the HTML or JSON around it.
func (d Data) bindings(esc func(string) string) liquid.Bindings {
	c := d.Customer
	if c == nil {
		c = &customer.Customer{}
	}
	order := map[string]any{"id": "", "total": 0, "ordered_at": "", "items": []any{}}
	if o := d.Order; o != nil {
		items := make([]any, 0, len(o.Items))
		for _, it := range o.Items {
			items = append(items, map[string]any{"name": esc(it.Name), "quantity": it.Quantity, "price": it.Price})
		}
		order = map[string]any{
			"id":         esc(o.ID),
			"total":      o.Total,
			"ordered_at": japaneseDate(o.OrderedAt, c.Location()),
			"items":      items,
		}
	}
	ratings := make([]any, 0, len(d.Ratings))
	for _, r := range d.Ratings {
		ratings = append(ratings, map[string]any{"value": r.Value, "label": esc(r.Label), "stars": r.Stars, "url": esc(r.URL)})
	}
	voices := make([]any, 0, len(d.Voices))
	for _, v := range d.Voices[:min(len(d.Voices), MaxVoices)] {
		stars := ""
		if n := min(v.Rating, 5); n > 0 {
			stars = strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
		}
		text := []rune(v.Text)
		if len(text) > MaxVoiceRunes {
			text = append(text[:MaxVoiceRunes-1], '…')
		}
		voices = append(voices, map[string]any{"text": esc(string(text)), "profile": esc(v.Profile), "rating": v.Rating, "stars": stars, "date": esc(v.Date)})
	}
	return liquid.Bindings{
		"voices":   voices,
		"customer": map[string]any{"name": esc(c.Name), "id": esc(c.ID)},
		"rank":     map[string]any{"id": d.RankID, "label": esc(d.RankLabel)},
		"order":    order,
		"shop": map[string]any{
			"name": esc(d.Shop.Name), "url": esc(d.Shop.URL), "support_email": esc(d.Shop.SupportEmail),
			"legal_name": esc(d.Shop.LegalName), "postal_address": esc(d.Shop.PostalAddress), "phone": esc(d.Shop.Phone),
		},
		"coupon":   map[string]any{"code": esc(d.Coupon.Code), "note": esc(d.Coupon.Note)},
		"links":    map[string]any{"unsubscribe": esc(d.Unsubscribe), "preferences": esc(d.Preferences)},
		"feedback": map[string]any{"ratings": ratings},
	}
}

func japaneseDate(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	return strconv.Itoa(t.Year()) + "年" + strconv.Itoa(int(t.Month())) + "月" + strconv.Itoa(t.Day()) + "日"
}

// Yen formats an amount as Japanese shops print it: 12800 → "12,800円".
func Yen(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case float64:
		n = int64(x)
	case string:
		n, _ = strconv.ParseInt(x, 10, 64)
	}
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String() + "円"
}

// Sample is a made-up customer's data, for checks and previews: every
// variable set, with characters that need escaping, and customer voice to
// quote unless quiet.
func Sample(shop Shop, rankID, rankLabel string, quiet bool) Data {
	d := Data{
		Customer: &customer.Customer{ID: "C0", Name: `見本 "花子" <b>&</b>`, Rank: rankID},
		RankID:   rankID, RankLabel: rankLabel,
		Order: &customer.Order{ID: "O-0", Total: 12800, OrderedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Items: []customer.Item{{Name: "見本の品", Quantity: 1, Price: 12800}}},
		Shop:        shop,
		Unsubscribe: "https://api.example.jp/unsubscribe?t=sample&x=<&>",
		Preferences: "https://api.example.jp/preferences?t=sample&x=<&>",
	}
	if !quiet {
		d.Voices = []Voice{
			{Text: "見本のお声 <b>\"&\"</b>", Profile: "30代・女性・リピーター", Rating: 5, Date: "2026年1月"},
			{Text: "二件目の見本", Profile: "お客様", Date: "2025年12月"},
		}
	}
	return d
}
