package delivery_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
)

var tokyo, _ = time.LoadLocation("Asia/Tokyo")

func TestQuietHoursDeferNotDrop(t *testing.T) {
	p := delivery.DefaultPolicy
	tests := []struct {
		name string
		kind message.Kind
		ch   customer.Channel
		now  time.Time
		want time.Time
	}{
		{"LINE at 22:30 waits until 09:00 next day", message.Step, customer.LINE,
			time.Date(2026, 12, 1, 22, 30, 0, 0, tokyo), time.Date(2026, 12, 2, 9, 0, 0, 0, tokyo)},
		{"LINE at 06:00 waits until 09:00 the same day", message.Birthday, customer.LINE,
			time.Date(2026, 12, 1, 6, 0, 0, 0, tokyo), time.Date(2026, 12, 1, 9, 0, 0, 0, tokyo)},
		{"LINE at 09:00 goes now", message.Step, customer.LINE,
			time.Date(2026, 12, 1, 9, 0, 0, 0, tokyo), time.Date(2026, 12, 1, 9, 0, 0, 0, tokyo)},
		{"LINE at 20:59 goes now", message.Newsletter, customer.LINE,
			time.Date(2026, 12, 1, 20, 59, 0, 0, tokyo), time.Date(2026, 12, 1, 20, 59, 0, 0, tokyo)},
		{"email has no quiet hours by default", message.Step, customer.Email,
			time.Date(2026, 12, 1, 23, 0, 0, 0, tokyo), time.Date(2026, 12, 1, 23, 0, 0, 0, tokyo)},
		{"a thank-you is not held back", message.ThankYou, customer.LINE,
			time.Date(2026, 12, 1, 23, 0, 0, 0, tokyo), time.Date(2026, 12, 1, 23, 0, 0, 0, tokyo)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.NotBefore(tt.kind, tt.ch, tokyo, tt.now); !got.Equal(tt.want) {
				t.Errorf("NotBefore = %v, want %v", got, tt.want)
			}
		})
	}
	// Quiet hours are the customer's: 10:00 in Tokyo is 17:00 the day before in Los Angeles.
	la, _ := time.LoadLocation("America/Los_Angeles")
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, tokyo)
	if got := p.NotBefore(message.Step, customer.LINE, la, now); !got.Equal(now) {
		t.Errorf("17:00 in LA is not quiet: %v", got)
	}
	late := time.Date(2026, 12, 2, 16, 0, 0, 0, tokyo) // 23:00 in LA
	if got := p.NotBefore(message.Step, customer.LINE, la, late); !got.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, la)) {
		t.Errorf("23:00 in LA waits until 09:00 LA: %v", got.In(la))
	}
}

func TestFrequencyCapKeepsTheMostImportant(t *testing.T) {
	p := delivery.DefaultPolicy // 3 in 7 days
	now := time.Date(2026, 12, 10, 9, 0, 0, 0, tokyo)
	recent := []delivery.Sent{
		{Kind: message.Step, At: now.AddDate(0, 0, -2)},
		{Kind: message.ThankYou, At: now.AddDate(0, 0, -1)},   // transactional: does not count
		{Kind: message.Newsletter, At: now.AddDate(0, 0, -8)}, // outside the window
	}
	candidates := []message.Kind{message.Surprise, message.Newsletter, message.Birthday, message.Step, message.ThankYou}
	got := p.ApplyCap(recent, candidates, now)
	want := []bool{false, false, true, true, true} // room for 2: birthday and step win; thank-you is exempt
	for i, d := range got {
		if d.Allowed != want[i] {
			t.Errorf("%s: allowed %v, want %v (%s)", candidates[i], d.Allowed, want[i], d.Reason)
		}
		if !d.Allowed && !strings.Contains(d.Reason, "frequency cap") {
			t.Errorf("%s: suppressed without a reason", candidates[i])
		}
	}
}

func TestShippedPolicyParses(t *testing.T) {
	src, err := os.ReadFile("../../../templates/delivery.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := delivery.ParsePolicy("templates/delivery.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if p.QuietHours[customer.LINE] != (delivery.Window{From: 21, To: 9}) || p.Cap != (delivery.Cap{Max: 3, Days: 7}) || p.LINEQuota != delivery.ByEmail {
		t.Errorf("policy = %+v", p)
	}
	for _, bad := range []string{
		"quiet_hours:\n  fax: {from: \"21:00\", to: \"09:00\"}\n",
		"quiet_hours:\n  line: {from: \"9pm\", to: \"09:00\"}\n",
		"frequency_cap: {max: 3, days: 0}\n",
		"frequncy_cap: {max: 3, days: 7}\n",
		"line_quota: later\n",
	} {
		if _, err := delivery.ParsePolicy("delivery.yaml", []byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestAttributionDays(t *testing.T) {
	p, err := delivery.ParsePolicy("delivery.yaml", []byte("attribution_days:\n  default: 21\n  lapsed: 60\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Attribution.Of(message.Step) != 21*24*time.Hour || p.Attribution.Of(message.Lapsed) != 60*24*time.Hour {
		t.Errorf("windows %+v", p.Attribution)
	}
	for _, bad := range []string{"attribution_days:\n  default: 0\n", "attribution_days:\n  coupons: 30\n", "attribution_days:\n  step: 400\n"} {
		if _, err := delivery.ParsePolicy("delivery.yaml", []byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestControlGroup(t *testing.T) {
	p, err := delivery.ParsePolicy("delivery.yaml", []byte("control_group: 5%\n"))
	if err != nil || p.ControlGroup != 0.05 {
		t.Fatalf("%v %v", p.ControlGroup, err)
	}
	in := 0
	for i := range 10000 {
		if p.InControlGroup(fmt.Sprintf("C%d", i)) {
			in++
		}
	}
	if in < 420 || in > 580 {
		t.Errorf("%d of 10,000 in a 5%% control group", in)
	}
	if off, _ := delivery.ParsePolicy("delivery.yaml", nil); off.InControlGroup("C1") {
		t.Error("the control group is off by default")
	}
	if _, err := delivery.ParsePolicy("delivery.yaml", []byte("control_group: 60%\n")); err == nil {
		t.Error("a 60% control group was accepted")
	}
}
