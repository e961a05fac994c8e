package delivery

import (
	"fmt"
	"time"
)

// Quota is LINE's monthly message quota: how many messages the channel may
// send this month (Limited false: no limit), and how many it sent. Every
// recipient counts: a multicast to 500 friends is 500.
type Quota struct {
	Limited     bool
	Limit, Used int64
}

// Left is what remains of the month's quota (-1: no limit).
func (q Quota) Left() int64 {
	if !q.Limited {
		return -1
	}
	return max(0, q.Limit-q.Used)
}

// Fits says n more messages fit in the month's quota.
func (q Quota) Fits(n int) bool { return !q.Limited || int64(n) <= q.Left() }

// WhenShort is what a campaign does whose LINE messages would not fit in
// what is left of the month's quota (delivery.yaml `line_quota`).
type WhenShort string

const (
	// ByRank gives what is left to the highest ranks first; the rest wait
	// for next month's quota.
	ByRank WhenShort = "priority"
	// ByEmail gives what is left to the highest ranks first; the rest go by
	// email where they agreed to it, or wait for next month.
	ByEmail WhenShort = "email"
	// NextMonth holds every LINE message of the campaign for next month.
	NextMonth WhenShort = "defer"
)

func parseWhenShort(s string) (WhenShort, error) {
	switch w := WhenShort(s); w {
	case "":
		return ByEmail, nil
	case ByRank, ByEmail, NextMonth:
		return w, nil
	}
	return "", fmt.Errorf("line_quota %q: want priority, email or defer", s)
}

// QuotaResets is when messages held for next month's LINE quota go: 09:00
// in Japan on the day it comes back.
func QuotaResets(now time.Time) time.Time {
	return LINEQuotaPause(now).Until.Add(9 * time.Hour)
}
