"""The workspace's words in English and Chinese, picked by the browser's ``Accept-Language``.

The page is rendered in one language; the script gets the same table (as a JSON data
block, not a script) for the words it shows later (progress, errors, "still working").
"""
from __future__ import annotations

EN: dict[str, str] = {
    "title": "ai-music workspace",
    "lead": "Drop a video, ask for music, watch the fit, export.",
    "upload": "Video or audio",
    "pick": "Choose a file…",
    "drop": "or drop it here",
    "uploading": "Uploading {name}…",
    "uploaded": "Uploaded {name}",
    "chat": "Chat",
    "placeholder": "e.g. add upbeat music, add a title 'Launch day'",
    "send": "Send",
    "you": "You",
    "assistant": "ai-music",
    "working": "still working…",
    "stage_analysing": "still working: analysing the video…",
    "stage_composing": "still working: composing…",
    "timeline": "Timeline",
    "empty": "Nothing on the timeline yet: upload a video.",
    "lane_video": "Video",
    "lane_titles": "Titles",
    "lane_sections": "Sections",
    "lane_beats": "Beats",
    "lane_speech": "Speech · duck",
    "lane_thumbs": "Picture",
    "lane_wave": "Soundtrack",
    "preview": "Play preview",
    "pause": "Pause",
    "preview_loading": "Loading the preview…",
    "preview_failed": "The preview could not play: {error}",
    "hear_new": "Hearing: the new soundtrack (A/B)",
    "hear_original": "Hearing: the original sound (A/B)",
    "another": "Another one",
    "another_message": "another one",
    "export": "Export",
    "format": "Format",
    "fmt_mp4": "Video (MP4, 1080p)",
    "fmt_wav": "Music only (WAV)",
    "fmt_mp3": "Music only (MP3)",
    "fmt_stems": "Music stems (ZIP)",
    "cancel": "Cancel",
    "download": "Download",
    "exporting": "Exporting… {progress}%",
    "exported": "Export ready.",
    "cancelled": "Export cancelled.",
    "failed": "Export failed: {error}",
    "credits": "Credits: {available}",
    "project": "Project",
    "new_project": "New project",
    "too_big": "{name} is larger than the limit ({limit} MB).",
    "bad_type": "{name}: unsupported file type; accepted: {formats}",
    "error": "Error: {error}",
    "claimed": "Opened the project from the link.",
    "claim_failed": "This link has expired or is not valid.",
    "nojs": "The workspace needs JavaScript.",
    "fit_alt": "How the music fits the video: cuts, sections, beats and hits, ducking under speech, loudness",
    "fit_open": "Open the picture full size",
    "fit_failed": "The picture could not be shown: {error}",
    "fit_not_png": "the answer was not a PNG picture",
    "fit_undecodable": "the picture could not be read",
}

ZH: dict[str, str] = {
    "title": "ai-music 工作台",
    "lead": "拖入视频，说出想要的音乐，查看贴合效果，然后导出。",
    "upload": "视频或音频",
    "pick": "选择文件…",
    "drop": "或拖到这里",
    "uploading": "正在上传 {name}…",
    "uploaded": "已上传 {name}",
    "chat": "对话",
    "placeholder": "例如：加一段欢快的音乐，加标题「发布日」",
    "send": "发送",
    "you": "你",
    "assistant": "ai-music",
    "working": "仍在处理…",
    "stage_analysing": "仍在处理：正在分析视频…",
    "stage_composing": "仍在处理：正在作曲…",
    "timeline": "时间线",
    "empty": "时间线还是空的：先上传一个视频。",
    "lane_video": "视频",
    "lane_titles": "标题",
    "lane_sections": "段落",
    "lane_beats": "节拍",
    "lane_speech": "人声·压低",
    "lane_thumbs": "画面",
    "lane_wave": "配乐",
    "preview": "播放预览",
    "pause": "暂停",
    "preview_loading": "正在载入预览…",
    "preview_failed": "预览无法播放：{error}",
    "hear_new": "正在听：新配乐（A/B）",
    "hear_original": "正在听：原声（A/B）",
    "another": "换一首",
    "another_message": "换一首",
    "export": "导出",
    "format": "格式",
    "fmt_mp4": "视频（MP4，1080p）",
    "fmt_wav": "仅音乐（WAV）",
    "fmt_mp3": "仅音乐（MP3）",
    "fmt_stems": "音乐分轨（ZIP）",
    "cancel": "取消",
    "download": "下载",
    "exporting": "正在导出… {progress}%",
    "exported": "导出完成。",
    "cancelled": "已取消导出。",
    "failed": "导出失败：{error}",
    "credits": "积分：{available}",
    "project": "项目",
    "new_project": "新项目",
    "too_big": "{name} 超过大小上限（{limit} MB）。",
    "bad_type": "{name}：不支持的文件类型；可用：{formats}",
    "error": "出错了：{error}",
    "claimed": "已从链接打开项目。",
    "claim_failed": "链接已过期或无效。",
    "nojs": "工作台需要启用 JavaScript。",
    "fit_alt": "音乐如何契合画面：镜头切换、段落、节拍、人声下的闪避和响度",
    "fit_open": "查看原尺寸图片",
    "fit_failed": "图片无法显示：{error}",
    "fit_not_png": "返回的不是 PNG 图片",
    "fit_undecodable": "图片无法读取",
}

TABLES = {"en": EN, "zh": ZH}


def language_of(accept_language: str) -> str:
    """``zh`` when the browser prefers Chinese over English, else ``en`` (q-values respected)."""
    best, best_q = "en", -1.0
    for item in accept_language.split(","):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in TABLES and q > best_q:
            best, best_q = base, q
    return best
