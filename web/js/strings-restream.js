// Strings of the studio's restream panel (go live on Facebook, YouTube, TikTok too).
import { STRINGS } from "./strings.js";

const vi = {
  restream: "Phát đồng thời lên Facebook, YouTube, TikTok",
  restream_intro: "Dán địa chỉ RTMP của nền tảng kèm khoá luồng (ví dụ rtmps://live-api-s.facebook.com:443/rtmp/KHOÁ). Đơn hàng vẫn chốt trên farmlive.",
  restream_url: "Địa chỉ RTMP/RTMPS kèm khoá luồng",
  restream_add: "Thêm điểm phát",
  restream_save: "Lưu",
  restream_saved: "Đã lưu các điểm phát.",
  restream_remove: "Xoá",
  restream_enabled: "Bật",
  restream_none: "Chưa có điểm phát nào.",
  restream_key_hidden: "Khoá luồng được giữ kín trên máy chủ, chỉ hiện 4 ký tự cuối.",
  restream_state_idle: "Chờ phát",
  restream_state_connecting: "Đang kết nối…",
  restream_state_live: "Đang phát",
  restream_state_error: "Lỗi",
  restream_needs_h264: "Phát đồng thời cần video H.264; trình duyệt này đang gửi {codec}. Hãy dùng Chrome, Edge hoặc Safari mới.",
  restream_no_h264: "Trình duyệt này không gửi được H.264: không phát đồng thời lên nền tảng khác được. Hãy dùng Chrome, Edge hoặc Safari mới.",
  hls_needs_h264: "Trình duyệt này không gửi được H.264, nên người xem đông (HLS, dự phòng khi mạng yếu) sẽ không xem được. Hãy dùng Chrome, Edge hoặc Safari mới.",
  restream_description: "Mô tả để dán lên nền tảng",
  restream_description_help: "Không chèn chữ lên video: hãy dán đoạn này vào phần mô tả của buổi phát.",
  restream_copy: "Sao chép",
  restream_copied: "Đã sao chép.",
  restream_text: "Mua hàng và theo dõi số đơn tại farmlive: {link}\nChốt đơn: bình luận mã sản phẩm và số lượng, ví dụ \"{code} x2\", hoặc bấm \"Đặt mua ngay\" trên trang.",
  restream_codes: "Mã sản phẩm: {codes}",
  restream_bad_url: "Địa chỉ không hợp lệ: {message}",
};

const en = {
  restream: "Also go live on Facebook, YouTube, TikTok",
  restream_intro: "Paste the platform's RTMP URL with its stream key (e.g. rtmps://live-api-s.facebook.com:443/rtmp/KEY). Orders still happen on farmlive.",
  restream_url: "RTMP/RTMPS URL with the stream key",
  restream_add: "Add destination",
  restream_save: "Save",
  restream_saved: "Destinations saved.",
  restream_remove: "Remove",
  restream_enabled: "On",
  restream_none: "No destinations yet.",
  restream_key_hidden: "Stream keys stay on the server; only their last 4 characters are shown.",
  restream_state_idle: "Waiting",
  restream_state_connecting: "Connecting…",
  restream_state_live: "Live",
  restream_state_error: "Error",
  restream_needs_h264: "Restreaming needs H.264 video; this browser sends {codec}. Use a recent Chrome, Edge or Safari.",
  restream_no_h264: "This browser cannot send H.264, so restreaming to other platforms will not work. Use a recent Chrome, Edge or Safari.",
  hls_needs_h264: "This browser cannot send H.264, so the mass audience (HLS, the fallback for weak links) cannot watch. Use a recent Chrome, Edge or Safari.",
  restream_description: "Description to paste on the platform",
  restream_description_help: "Nothing is drawn on the video: paste this into the stream's description instead.",
  restream_copy: "Copy",
  restream_copied: "Copied.",
  restream_text: "Buy and follow the orders on farmlive: {link}\nTo order: comment the product code and quantity, e.g. \"{code} x2\", or tap \"Order now\" on the page.",
  restream_codes: "Product codes: {codes}",
  restream_bad_url: "Invalid URL: {message}",
};

Object.assign(STRINGS.vi, vi);
Object.assign(STRINGS.en, en);
