"""``audio_dataset_from_directory`` (Keras 3's ``keras.utils.audio_dataset_from_directory``): the ``.wav`` files
under ``directory/<class>/`` as a PyDataset of (audio, labels) batches, audio float32 (batch, samples, channels)
in [-1, 1]. Files are read with the standard library's ``wave`` module (PCM 8, 16, 24 or 32 bit); there is no
resampling (Keras needs tensorflow-io for it), so ``sampling_rate`` only checks the files' rate."""
import wave

import numpy as np

from .dataset_utils import FolderDataset, list_labelled_files, split_files

AUDIO_EXTENSIONS = (".wav",)
WHO = "audio_dataset_from_directory"


def read_wav(path, sampling_rate=None):
    """A PCM .wav file as float32 (samples, channels) in [-1, 1]; ``sampling_rate`` given: the file must have it."""
    try:
        with wave.open(str(path), "rb") as f:
            rate, width, channels = f.getframerate(), f.getsampwidth(), f.getnchannels()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"{WHO}: cannot read {path!r} as a PCM .wav file: {e}") from None
    if sampling_rate is not None and rate != sampling_rate:
        raise ValueError(f"{WHO}: file {path!r} has sampling rate {rate} Hz, expected sampling_rate={sampling_rate}; "
                         f"nerve does not resample (Keras needs tensorflow-io for that): resample the files or pass "
                         f"sampling_rate=None")
    if width == 1:  # 8-bit PCM is unsigned
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        x = np.frombuffer(raw, f"<i{width}").astype(np.float32) / float(2 ** (8 * width - 1))
    elif width == 3:  # little-endian 24-bit: sign-extend into int32
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 2 ** 23, v - 2 ** 24, v)).astype(np.float32) / float(2 ** 23)
    else:
        raise ValueError(f"{WHO}: file {path!r} has {8 * width}-bit samples, expected 8, 16, 24 or 32-bit PCM")
    return x.reshape(-1, channels)


class AudioFolderDataset(FolderDataset):
    """Audio float32 (batch, samples, channels), padded with zeros / cropped to ``output_sequence_length`` or,
    without it, padded to the longest file of the batch; labels as ``label_mode``."""
    who = WHO

    def __init__(self, paths, labels, class_names, label_mode, batch_size, sampling_rate, output_sequence_length,
                 shuffle, seed):
        super().__init__(paths, labels, class_names, label_mode, batch_size, shuffle, seed)
        self.sampling_rate, self.output_sequence_length = sampling_rate, output_sequence_length

    def _load(self, path):
        x = read_wav(path, self.sampling_rate)
        n = self.output_sequence_length
        return x if n is None else x[:n]

    def _stack(self, clips):
        channels = {c.shape[1] for c in clips}
        if len(channels) > 1:
            raise ValueError(f"{WHO}: the files of one batch have different numbers of channels {sorted(channels)}")
        n = self.output_sequence_length or max(len(c) for c in clips)
        out = np.zeros((len(clips), n, channels.pop()), np.float32)
        for i, c in enumerate(clips):
            out[i, :len(c)] = c
        return out


def _positive_int(value, name):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0):
        raise ValueError(f"{WHO}: argument '{name}' expected a positive integer or None, got {value!r}")


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None, follow_links=False, verbose=True):
    """.wav files under ``directory/<class>/`` (classes in alphabetical order unless ``class_names``) as a
    PyDataset of (audio, labels) batches, audio float32 (batch, samples, channels) in [-1, 1]: ``label_mode``
    'int', 'categorical', 'binary' or None (audio only); ``labels`` 'inferred', None or one int per file
    (alphanumeric order of the paths); ``output_sequence_length`` pads / crops every clip to that many samples
    (without it, each batch is padded to its longest clip); ``sampling_rate`` given: every file must have that
    rate (no resampling); ``batch_size`` None gives single clips. ``validation_split`` / ``subset`` / ``seed``
    as ``image_dataset_from_directory``. ``ragged=True`` is not supported (nerve has no ragged tensors)."""
    if ragged:
        raise ValueError(f"{WHO}: argument 'ragged=True' is not supported: nerve has no ragged tensors; use "
                         f"ragged=False (clips padded to the longest of each batch) or output_sequence_length")
    _positive_int(sampling_rate, "sampling_rate")
    _positive_int(output_sequence_length, "output_sequence_length")
    _positive_int(batch_size, "batch_size")
    if not (labels is None or isinstance(labels, str)) and class_names:
        raise ValueError(f"{WHO}: argument 'class_names' is only allowed with labels='inferred', got labels of type "
                         f"{type(labels).__name__}")
    paths, y, names, label_mode = list_labelled_files(WHO, directory, labels, label_mode, class_names, follow_links,
                                                      AUDIO_EXTENSIONS)
    return split_files(WHO, paths, y, names, shuffle, seed, validation_split, subset, verbose,
                       lambda p, labels_: AudioFolderDataset(p, labels_, names, label_mode, batch_size, sampling_rate,
                                                             output_sequence_length, shuffle, seed))
