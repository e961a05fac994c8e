package delivery_test

import (
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/templates"
)

func TestShippedTopicsCoverEveryKindButTheThankYou(t *testing.T) {
	src, err := templates.FS.ReadFile("delivery.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := delivery.ParsePolicy("delivery.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range message.Kinds {
		tp, ok := p.Topics.Of(k)
		switch {
		case delivery.Transactional(k) && ok:
			t.Errorf("%s is in topic %s", k, tp.ID)
		case !delivery.Transactional(k) && (!ok || tp.Group == 0):
			t.Errorf("%s: topic %+v %v, want one with a SendGrid group", k, tp, ok)
		}
	}
	if len(p.Topics.Groups()) != len(p.Topics) {
		t.Errorf("groups %v", p.Topics.Groups())
	}
	// The defaults pass the same checks.
	if _, err := delivery.ParsePolicy("d.yaml", []byte("topics: []\n")); err == nil {
		t.Error("no topics accepted: every kind would be unstoppable")
	}
}

func TestTopicsRefused(t *testing.T) {
	rest := "  - {id: others, label: その他, kinds: [birthday, points, step, feedback, lapsed, surprise, referral, event], sendgrid_group: 2}\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown kind":       {"  - {id: news, label: お便り, kinds: [newsletter, coupons], sendgrid_group: 1}\n" + rest, `unknown kind "coupons"`},
		"duplicate group":    {"  - {id: news, label: お便り, kinds: [newsletter], sendgrid_group: 2}\n" + rest, "sendgrid_group 2 is also news's"},
		"transactional kind": {"  - {id: news, label: お便り, kinds: [newsletter, thank-you], sendgrid_group: 1}\n" + rest, "thank-you is transactional"},
		"kind twice":         {"  - {id: news, label: お便り, kinds: [newsletter, step], sendgrid_group: 1}\n" + rest, "kind step is also in news"},
		"kind in none":       {rest, "kind newsletter is in no topic"},
		"label too long":     {"  - {id: news, label: とても長い名前のお便りのお知らせです, kinds: [newsletter], sendgrid_group: 1}\n" + rest, "label"},
	} {
		_, err := delivery.ParsePolicy("delivery.yaml", []byte("topics:\n"+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "delivery.yaml: ") {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

var testTime = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func TestStopsOnEveryChannel(t *testing.T) {
	c := &customer.Customer{ID: "C1"}
	if !c.SetTopic("newsletter", false, testTime, customer.ByPreferencePage, "") || c.SetTopic("newsletter", false, testTime, customer.ByLINEMenu, "") {
		t.Fatal("stop, then stop again: want changed once")
	}
	if stop, why := delivery.DefaultTopics.Stops(c, message.Newsletter); !stop || !strings.Contains(why, "newsletter") {
		t.Errorf("newsletter: %v %q", stop, why)
	}
	for _, k := range []message.Kind{message.ThankYou, message.Birthday, message.Step} {
		if stop, _ := delivery.DefaultTopics.Stops(c, k); stop {
			t.Errorf("%s stopped too", k)
		}
	}
	if len(c.PendingConsent) != 1 || c.PendingConsent[0].Topic != "newsletter" || c.PendingConsent[0].Consent {
		t.Errorf("consent noted: %+v", c.PendingConsent)
	}
}
