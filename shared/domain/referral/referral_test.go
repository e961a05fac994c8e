package referral_test

import (
	"os"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/referral"
)

func TestNewCodesAreTypableAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		code, err := referral.NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := referral.Normalize(code); !ok || got != code {
			t.Fatalf("code %q does not read back as itself", code)
		}
		if strings.ContainsAny(code, "0O1IL") {
			t.Fatalf("code %q has characters people confuse", code)
		}
		seen[code] = true
	}
	if len(seen) < 999 {
		t.Errorf("%d distinct codes in 1000 draws: not random enough", len(seen))
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"K7Q2MX", "K7Q2MX", true},
		{"k7q2mx", "K7Q2MX", true},
		{"ＫＡ７Ｑ２Ｍ", "KA7Q2M", true}, // typed on a Japanese keyboard
		{"K7Q 2MX", "K7Q2MX", true},
		{"K7Q2M0", "K7Q2M0", false}, // 0 is never in a code
		{"K7Q2M", "K7Q2M", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := referral.Normalize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFromMessage(t *testing.T) {
	tests := []struct {
		text, code string
		ok         bool
	}{
		{"紹介コード: K7Q2MX", "K7Q2MX", true},
		{"紹介コード：ｋ７ｑ２ｍｘ", "K7Q2MX", true},
		{"こんにちは！紹介コード K7Q2MX です", "K7Q2MX", true},
		{"紹介コード: ???", "", false},
		{"THANKS", "", false}, // six letters of the alphabet, but no 紹介コード: words to keep
		{"素敵なマグでした", "", false},
	}
	for _, tt := range tests {
		code, ok := referral.FromMessage(tt.text)
		if ok != tt.ok || (ok && code != tt.code) {
			t.Errorf("FromMessage(%q) = %q, %v; want %q, %v", tt.text, code, ok, tt.code, tt.ok)
		}
	}
}

func TestLinks(t *testing.T) {
	if got := referral.Link("https://shop.example.jp/?utm=x", "K7Q2MX"); got != "https://shop.example.jp/?ref=K7Q2MX&utm=x" {
		t.Errorf("Link = %s", got)
	}
	if got := referral.LINELink("@daifuku", "K7Q2MX"); got != "https://line.me/R/oaMessage/%40daifuku/?%E7%B4%B9%E4%BB%8B%E3%82%B3%E3%83%BC%E3%83%89%3A+K7Q2MX" {
		t.Errorf("LINELink = %s", got)
	}
	if referral.Link("https://shop.example.jp/", "") != "" || referral.LINELink("", "K7Q2MX") != "" {
		t.Error("a link without a code or an account id must be empty")
	}
}

func TestSamePerson(t *testing.T) {
	a := &customer.Customer{ID: "C1", Email: "Hanako@example.jp", LINEUserID: "U1"}
	tests := []struct {
		name string
		b    *customer.Customer
		want bool
	}{
		{"same id", &customer.Customer{ID: "C1"}, true},
		{"same email, another case", &customer.Customer{ID: "C2", Email: "hanako@example.jp "}, true},
		{"same LINE account", &customer.Customer{ID: "L-1", LINEUserID: "U1"}, true},
		{"someone else", &customer.Customer{ID: "C3", Email: "taro@example.jp", LINEUserID: "U3"}, false},
		{"no contact at all", &customer.Customer{ID: "C4"}, false},
	}
	for _, tt := range tests {
		if got := referral.SamePerson(a, tt.b); got != tt.want {
			t.Errorf("%s: SamePerson = %v", tt.name, got)
		}
	}
}

func TestShippedConfigParses(t *testing.T) {
	src, err := os.ReadFile("../../../templates/referrals.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := referral.ParseConfig("templates/referrals.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReferrerPoints != 500 || c.LINEWindowDays != 7 || c.LINEBasicID == "" {
		t.Errorf("config = %+v", c)
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"a typo", "referer_points: 500\n", "field referer_points not found"},
		{"negative points", "referrer_points: -5\n", "referrer_points -5: want 0 to 100000"},
		{"points for a stray digit", "referred_points: 5000000\n", "referred_points 5000000"},
		{"an account id without @", "line_basic_id: daifuku\n", "line_basic_id \"daifuku\""},
		{"no window", "line_window_days: 0\n", "line_window_days 0: want 1 to 90"},
		{"not YAML", "referrer_points: [\n", "templates/referrals.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := referral.ParseConfig("templates/referrals.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "templates/referrals.yaml") {
				t.Fatalf("err = %v, want it to name the file and say %q", err, tt.want)
			}
		})
	}
}
