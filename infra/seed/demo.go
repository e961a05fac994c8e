// Package seed makes sample ledgers: the demo cast `make run` adds beside the
// sample spreadsheets, dated relative to today so there is always something
// due, and large generated ledgers for benchmarks.
package seed

import (
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Demo is a cast of customers, dated relative to now, for whom today's run
// has something: prospects on day 0, 3 and 7 of their plan, a birthday, a
// customer lapsing today, a new customer three days after the first purchase.
func Demo(now time.Time) []*customer.Customer {
	days := func(n int) time.Time { return now.AddDate(0, 0, -n).Add(-time.Hour) }
	// Ranks are as the default ladder had them before today: the run itself
	// finds that DEMO-05 lapsed.
	buy := func(c *customer.Customer, rank string, count int, spend int64, first, last time.Time) *customer.Customer {
		c.Purchases = customer.Purchases{Count: count, TotalSpend: spend, First: first, Last: last}
		c.Rank, c.RankSince = rank, last
		c.RankHistory = []customer.RankChange{{To: rank, At: last, Cause: "demo cast"}}
		return c
	}
	line := func(id, name, uid string) *customer.Customer {
		return &customer.Customer{ID: id, Name: name, LINEUserID: uid, PreferredChannel: customer.LINE,
			Consent: customer.Consent{LINE: true}, SignedUpAt: days(400), FriendAddedAt: days(400)}
	}
	mail := func(id, name, email string) *customer.Customer {
		return &customer.Customer{ID: id, Name: name, Email: email, PreferredChannel: customer.Email,
			Consent: customer.Consent{Email: true}, SignedUpAt: days(400)}
	}
	birthday := line("DEMO-04", "松本 千尋", "Ud000000000000000000000000000004")
	birthday.Email, birthday.Consent.Email = "chihiro.matsumoto@example.jp", true
	y, m, d := now.In(birthday.Location()).Date()
	_ = birthday.SetBirthday(time.Date(y-34, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly))

	prospect := func(c *customer.Customer, signedUp time.Time) *customer.Customer {
		c.SignedUpAt, c.Rank, c.RankSince = signedUp, "prospect", signedUp
		c.RankHistory = []customer.RankChange{{To: "prospect", At: signedUp, Cause: "demo cast"}}
		if c.LINEUserID != "" {
			c.FriendAddedAt = signedUp
		}
		return c
	}
	// A year-old purchase's points end in ten days (the last one's in a
	// year): today's run sends the expiry reminder (points.yaml: 14 days before).
	points := buy(mail("DEMO-08", "石井 真央", "mao.ishii@example.jp"), "early", 2, 9600, days(355), days(40))
	until := now.In(points.Location()).AddDate(0, 0, 10).Format(time.DateOnly)
	points.Points = customer.Points{Balance: 96, Lots: []customer.PointsLot{{Until: until, Points: 64}, {Until: days(40).In(points.Location()).AddDate(1, 0, 0).Format(time.DateOnly), Points: 32}},
		RemindOn: now.In(points.Location()).Format(time.DateOnly), ExpireOn: now.In(points.Location()).AddDate(0, 0, 11).Format(time.DateOnly)}
	// A royal customer whose last order was 182 days ago lapses today (more
	// than ranks.yaml's 180 whole days, as DEMO-05 after 120): the royal
	// lapsed plan opens with the owner's note, which asks why they stopped.
	royal := buy(mail("DEMO-09", "岡田 和子", "kazuko.okada@example.jp"), "royal", 11, 168000, days(1400), days(182))
	return []*customer.Customer{
		points,
		royal,
		prospect(line("DEMO-01", "井上 陽菜", "Ud000000000000000000000000000001"), days(0)),
		prospect(line("DEMO-02", "木村 蒼", "Ud000000000000000000000000000002"), days(3)),
		prospect(mail("DEMO-03", "林 結子", "yuiko.hayashi@example.jp"), days(7)),
		buy(birthday, "repeater", 4, 24800, days(300), days(20)),
		buy(mail("DEMO-05", "清水 健太", "kenta.shimizu@example.jp"), "repeater", 3, 21600, days(500), days(122)),
		buy(line("DEMO-06", "山口 美月", "Ud000000000000000000000000000006"), "new", 1, 3800, days(3), days(3)),
		// Three weeks after a first purchase: the new plan asks for feedback (buttons 1–5).
		buy(line("DEMO-07", "森 彩花", "Ud000000000000000000000000000007"), "new", 1, 5400, days(21), days(21)),
	}
}
