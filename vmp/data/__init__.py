"""Video data for the VMP book: reading, clip sampling, transforms, datasets, synthetic data, downloads."""

from vmp.data.datasets import ClipDataset, VideoFolder, VideoList, VideoSample
from vmp.data.footage import sample_video
from vmp.data.io import VideoInfo, VideoReadError, read_frames, video_info
from vmp.data.sampling import clip_indices, clip_span
from vmp.data.transforms import ClipTransform, three_crop
from vmp.data.writing import write_video

__all__ = [
    "ClipDataset", "ClipTransform", "VideoFolder", "VideoInfo", "VideoList", "VideoReadError",
    "VideoSample", "clip_indices", "clip_span", "read_frames", "sample_video", "three_crop",
    "video_info", "write_video",
]
