package sip

import (
	"testing"
	"time"
)

func TestParseSubscriptionState(t *testing.T) {
	for _, c := range []struct {
		in   string
		want subscriptionStateHeader
		bad  bool
	}{
		{in: "active;expires=600", want: subscriptionStateHeader{State: SubscriptionActive, Expires: 600 * time.Second}},
		{in: " Pending ", want: subscriptionStateHeader{State: SubscriptionPending}},
		{in: "terminated;reason=probation;retry-after=30", want: subscriptionStateHeader{State: SubscriptionTerminated, Reason: "probation", RetryAfter: 30 * time.Second}},
		{in: "terminated;reason=Deactivated;foo=bar", want: subscriptionStateHeader{State: SubscriptionTerminated, Reason: "deactivated"}},
		{in: "waiting", bad: true},
		{in: "active;expires=-1", bad: true},
		{in: "active;expires=99999999999", bad: true},
		{in: "", bad: true},
	} {
		got, err := parseSubscriptionState(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%q: no error", c.in)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	if eventType(" Dialog ;id=7") != "dialog" {
		t.Fatal("event type keeps parameters")
	}
}
