// Strings of the studio's sale tools: change an offer's price, keep selling after the end.
import { STRINGS } from "./strings.js";

const vi = {
  price_change: "Đổi giá",
  price_new: "Giá mới (₫ mỗi thùng)",
  price_now: "Giá hiện tại: {price}",
  price_preview: "Giá mới sẽ là {price}. Đơn đã đặt giữ giá cũ.",
  price_hint: "Chỉ nhập chữ số, ví dụ 240000. Đơn đã đặt giữ giá cũ.",
  price_confirm: "Xác nhận giá mới",
  price_done: "Đã đổi giá {code} thành {price}.",
  price_same: "Giá mới giống giá hiện tại.",
  price_not_digits: "Giá không hợp lệ: chỉ nhập chữ số (đồng), ví dụ 240000.",
  price_zero: "Giá phải lớn hơn 0 ₫.",
  price_invalid: "Giá không hợp lệ: tối đa 100.000.000.000\u00a0₫.",
  price_ended: "Phiên đã kết thúc: giá đã chốt, không đổi được nữa.",
  price_forbidden: "Chỉ người dẫn phiên hoặc quản trị viên được đổi giá.",
  after_end_label: "Tiếp tục bán sau khi kết thúc (xem lại)",
  after_end_help: "Khi bật, trang xem lại vẫn nhận đơn sau khi kết thúc phiên, đến khi hết hàng.",
  after_end_on: "Đã bật: trang xem lại sẽ tiếp tục bán.",
  after_end_off: "Đã tắt: kết thúc phiên là đóng bán.",
  sale_replay_open: "Đang bán qua xem lại",
  end_dialog_text_replay:
    "Kết thúc là vĩnh viễn: không phát lại trực tiếp được. Bạn đã bật “Tiếp tục bán sau khi kết thúc”, nên trang xem lại VẪN NHẬN ĐƠN đến khi hết hàng. Muốn đóng bán hẳn, hãy tắt ô đó trước.",
  end_dialog_sale_closes: "Sau khi kết thúc, phiên đóng bán hẳn (không bán qua trang xem lại).",
};

const en = {
  price_change: "Change price",
  price_new: "New price (₫ per box)",
  price_now: "Current price: {price}",
  price_preview: "The new price will be {price}. Orders already placed keep their price.",
  price_hint: "Digits only, e.g. 240000. Orders already placed keep their price.",
  price_confirm: "Confirm new price",
  price_done: "{code} now costs {price}.",
  price_same: "The new price is the current price.",
  price_not_digits: "Invalid price: digits only (đồng), e.g. 240000.",
  price_zero: "The price must be more than 0 ₫.",
  price_invalid: "Invalid price: at most 100,000,000,000\u00a0₫.",
  price_ended: "The session has ended: its prices are final.",
  price_forbidden: "Only the session's host or an admin may change prices.",
  after_end_label: "Keep selling after the end (replay)",
  after_end_help: "When on, the replay page still takes orders after the session ends, while stock lasts.",
  after_end_on: "On: the replay page will keep selling.",
  after_end_off: "Off: ending the session closes the sale.",
  sale_replay_open: "Selling on the replay",
  end_dialog_text_replay:
    "Ending is for good: you cannot go live again. You turned on “Keep selling after the end”, so the replay page STILL TAKES ORDERS while stock lasts. To close the sale for good, turn that off first.",
  end_dialog_sale_closes: "After the end the sale closes for good (no sales on the replay).",
};

Object.assign(STRINGS.vi, vi);
Object.assign(STRINGS.en, en);
