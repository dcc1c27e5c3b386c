package canonical

import "testing"

func TestCancellationFee(t *testing.T) {
	r := &Reservation{
		Total: NewMoney(30000, "EUR"),
		RoomStays: []RoomStay{{Arrival: Date{2027, 4, 10}, Departure: Date{2027, 4, 12}, NightlyPrices: []NightlyPrice{
			{Date: Date{2027, 4, 10}, Price: NewMoney(14000, "EUR")}, {Date: Date{2027, 4, 11}, Price: NewMoney(16000, "EUR")},
		}}},
	}
	tests := []struct {
		name   string
		policy RatePolicy
		today  Date
		want   int64
	}{
		{"free period", RatePolicy{FreeCancellationDays: 2}, Date{2027, 4, 8}, 0},
		{"inside the fee period, first night", RatePolicy{FreeCancellationDays: 2}, Date{2027, 4, 9}, 14000},
		{"percent", RatePolicy{FreeCancellationDays: 2, Fee: FeePercent, FeePercent: 25}, Date{2027, 4, 9}, 7500},
		{"full", RatePolicy{FreeCancellationDays: 2, Fee: FeeFull}, Date{2027, 4, 10}, 30000},
		{"non-refundable", RatePolicy{NonRefundable: true}, Date{2027, 1, 1}, 30000},
		{"free until arrival by default", RatePolicy{}, Date{2027, 4, 10}, 0},
	}
	for _, tt := range tests {
		got, err := tt.policy.CancellationFee(r, tt.today)
		if err != nil || got != NewMoney(tt.want, "EUR") {
			t.Errorf("%s: fee %v, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestPolicyValidateAndCapture(t *testing.T) {
	if err := (RatePolicy{Fee: FeePercent, FeePercent: 0, Capture: "later", FreeCancellationDays: -1}).Validate(); err == nil || len(err.(ValidationError)) != 3 {
		t.Fatalf("bad policy: %v", err)
	}
	if (RatePolicy{NonRefundable: true, Capture: CaptureAtCheckOut}).CaptureAt() != CaptureAtBooking || (RatePolicy{}).CaptureAt() != CaptureAtCheckIn {
		t.Fatal("capture points")
	}
}
