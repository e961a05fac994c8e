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
	// Owner signs the notes that come from the owner in person (e.g. a
	// lapsed royal customer's), e.g. 「店主 木村 さくら」; "" signs with the shop's name.
	Owner string `yaml:"owner"`
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
	// Survey is the one-tap question the message asks (a plan step's ask):
	// email shows its choices as links, LINE as buttons.
	Survey Survey
	// Event is the event an event message is about (templates/event/…).
	Event Event
	// Referral is the customer's own referral code and links (口コミ).
	Referral Referral
}

// Survey is a question and the links that answer it.
type Survey struct {
	Question string
	Choices  []SurveyChoice
}

// SurveyChoice is one answer and the signed link that gives it (email).
type SurveyChoice struct {
	Value, Label, URL string
}

// Event is an event or seminar as its messages show it.
type Event struct {
	Title    string
	StartsAt time.Time // shown in Zone
	Zone     *time.Location
	Place    string
	URL      string
	// RSVPYes and RSVPNo are the postback data of the LINE 参加 / 不参加
	// buttons; RSVPURL is the signed page of an email's answer links.
	RSVPYes, RSVPNo, RSVPURL string
}

// Referral is what a template may say about the customer's introductions:
// their code, the links that carry it ("" until they have a code; LINEURL ""
// without the shop's LINE id) and how many introductions were credited.
type Referral struct {
	Code    string
	URL     string
	LINEURL string
	Count   int
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
	choices := make([]any, 0, len(d.Survey.Choices))
	for _, ch := range d.Survey.Choices {
		choices = append(choices, map[string]any{"value": esc(ch.Value), "label": esc(ch.Label), "url": esc(ch.URL)})
	}
	owner := d.Shop.Owner
	if owner == "" {
		owner = d.Shop.Name
	}
	return liquid.Bindings{
		"survey":   map[string]any{"question": esc(d.Survey.Question), "choices": choices},
		"voices":   voices,
		"customer": map[string]any{"name": esc(c.Name), "id": esc(c.ID)},
		"rank":     map[string]any{"id": d.RankID, "label": esc(d.RankLabel)},
		"order":    order,
		"shop": map[string]any{
			"name": esc(d.Shop.Name), "url": esc(d.Shop.URL), "support_email": esc(d.Shop.SupportEmail),
			"owner":      esc(owner),
			"legal_name": esc(d.Shop.LegalName), "postal_address": esc(d.Shop.PostalAddress), "phone": esc(d.Shop.Phone),
		},
		"coupon":   map[string]any{"code": esc(d.Coupon.Code), "note": esc(d.Coupon.Note)},
		"links":    map[string]any{"unsubscribe": esc(d.Unsubscribe), "preferences": esc(d.Preferences)},
		"feedback": map[string]any{"ratings": ratings},
		"event":    d.Event.bindings(esc),
		"referral": map[string]any{"code": esc(d.Referral.Code), "url": esc(d.Referral.URL),
			"line_url": esc(d.Referral.LINEURL), "count": d.Referral.Count},
		"points": pointsBindings(c, d.Order),
	}
}

func (e Event) bindings(esc func(string) string) map[string]any {
	return map[string]any{"title": esc(e.Title), "starts_at": esc(EventTime(e.StartsAt, e.Zone)), "place": esc(e.Place),
		"url": esc(e.URL), "rsvp_yes": esc(e.RSVPYes), "rsvp_no": esc(e.RSVPNo), "rsvp_url": esc(e.RSVPURL)}
}

var weekdays = []string{"日", "月", "火", "水", "木", "金", "土"}

// EventTime is a time as an invitation states it, in the event's zone:
// "2026年12月12日(土) 14:00", with the zone named when it is not Japan's.
func EventTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = customer.DefaultLocation()
	}
	t = t.In(loc)
	s := japaneseDate(t, loc) + "(" + weekdays[t.Weekday()] + ") " + t.Format("15:04")
	if loc.String() != customer.DefaultLocation().String() {
		s += " (" + loc.String() + ")"
	}
	return s

}

// pointsBindings are the points card's variables: the balance, what the
// order (if any) earned and used, and the points that expire next with the
// last day they can be used (customer's zone; "" and 0 when none).
func pointsBindings(c *customer.Customer, o *customer.Order) map[string]any {
	b := map[string]any{"balance": c.Points.Balance, "earned": int64(0), "used": int64(0),
		"next_expiry_date": "", "next_expiry_points": int64(0)}
	if o != nil {
		b["earned"], b["used"] = o.PointsEarned, o.PointsUsed
	}
	if len(c.Points.Lots) > 0 {
		if t, err := time.ParseInLocation(time.DateOnly, c.Points.Lots[0].Until, c.Location()); err == nil {
			b["next_expiry_date"], b["next_expiry_points"] = japaneseDate(t, c.Location()), c.Points.Lots[0].Points
		}
	}
	return b
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
		Customer: &customer.Customer{ID: "C0", Name: `見本 "花子" <b>&</b>`, Rank: rankID,
			Points: customer.Points{Balance: 1408, Lots: []customer.PointsLot{{Until: "2027-01-02", Points: 128}, {Until: "2027-01-03", Points: 1280}}}},
		RankID: rankID, RankLabel: rankLabel,
		Order: &customer.Order{ID: "O-0", Total: 12800, PointsEarned: 128, OrderedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Items: []customer.Item{{SKU: "CUP-0", Name: "見本の品", Quantity: 1, Price: 12800}}},
		Shop: shop,
		Survey: Survey{Question: `見本の質問 "<&>"`, Choices: []SurveyChoice{
			{Value: "a", Label: "見本の答え <&>", URL: "https://example.com/answer?t=a&v=1"},
			{Value: "b", Label: "二つめ", URL: "https://example.com/answer?t=b&v=2"},
		}},
		Event: Event{Title: `見本の会 "お茶" <b>&</b>`, StartsAt: time.Date(2026, 12, 12, 5, 0, 0, 0, time.UTC),
			Zone: customer.DefaultLocation(), Place: "見本の店 2階", URL: "https://example.jp/event?a=1&b=2",
			RSVPYes: "ev=sample&a=yes", RSVPNo: "ev=sample&a=no", RSVPURL: "https://example.jp/events/rsvp?t=sample"},
		Referral:    Referral{Code: "K7Q2MX", URL: "https://shop.example.jp/?ref=K7Q2MX", LINEURL: "https://line.me/R/oaMessage/%40shop/?%E7%B4%B9%E4%BB%8B", Count: 2},
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
